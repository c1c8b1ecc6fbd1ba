"""The one exception tree of pot, rooted at :class:`PotError`.

Every error pot raises on purpose derives from :class:`PotError`. Library code raises the most
specific class with a message that states the rule that was broken; only the CLI boundary catches
them and turns them into an exit code (:mod:`pot.clikit`). Errors from libraries (ezkl, json,
sqlite3) are re-raised as one of these with ``raise ... from e``. Every class is empty and carries
a docstring. The root and the classes every layer shares live here; each package keeps its branch
in its own ``errors.py``, whose root derives from :class:`PotError`::

    PotError
    ├── SpecError, ExportError, ProvingError, DataError    pot.errors
    ├── CircuitError ── SetupError                         pot.errors
    ├── MalformedInputError (exit 2)                       pot.errors
    │   └── also the base of EncodingError, MalformedKeyFileError, MalformedUpdateError,
    │       FixtureError
    ├── VerifierError (exit 2)                             pot.errors
    ├── ProtocolError                                      pot.protocol.errors
    │   ├── EncodingError, MerkleError, ChallengeError, InvalidKeyError,
    │   │   SecurityParameterError
    │   └── KeyFileError ── MalformedKeyFileError, InsecureKeyFileError
    ├── AggregationError (also ValueError)                 pot.aggregation.errors
    │   └── MalformedUpdateError
    ├── EconomicsError                                     pot.economics.errors
    │   └── AmountError, ParameterError, ConstantsError
    ├── ChainError: every revert of the executor           pot.chain.errors
    │   └── CalldataError, RequestError, NonceError, ClaimError, ... (one class per rule)
    ├── FixtureError (a MalformedInputError), FillError    pot.fixtures.errors
    ├── StrategyError, TrainerStateError                   pot.flower.errors
    └── SimulationError                                    pot.simulate

``tests/test_errors.py`` checks that every exception class of pot is in this tree, empty and
documented, and that every branch root is named above.
"""


class PotError(Exception):
    """Base class of every error pot raises on purpose."""


class SpecError(PotError):
    """A model spec is malformed, unknown or names an unsupported layer or loss."""


class ExportError(PotError):
    """The SGD step of a spec could not be exported to ONNX."""


class CircuitError(PotError):
    """A circuit folder is missing, incomplete, or does not match its manifest."""


class SetupError(CircuitError):
    """ezkl's settings, calibration, compilation, SRS or key generation failed."""


class ProvingError(PotError):
    """Witness generation or proving failed for a step."""


class MalformedInputError(PotError):
    """An input file (bundle, checkpoint, batch, fixture) cannot be parsed or breaks a limit.

    The CLI maps this to exit code 2: the input was not judged, it was unreadable.
    """


class DataError(MalformedInputError):
    """A dataset, data file or batch request is invalid (unknown dataset, a value out of range,
    index out of range). Malformed input: the CLI maps it to exit code 2."""


class VerifierError(PotError):
    """The verifier itself failed (a worker process died), so the files were not judged.

    The CLI maps this to exit code 2, like input it could not read: no verdict was reached.
    """


class EvmError(VerifierError):
    """The embedded EVM verifier could not be set up: the pinned contract's bytecode does not
    match its keccak256, the deployment or a VKA registration reverted, or pyrevm is missing.

    Like :class:`VerifierError`, no verdict was reached (exit code 2).
    """
