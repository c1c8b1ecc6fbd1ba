"""The one exception tree of pot.

Every error pot raises on purpose derives from :class:`PotError`. Library code raises the most
specific class with a message that states the rule that was broken; only the CLI boundary catches
them and turns them into an exit code. Errors from libraries (ezkl, json, sqlite3) are re-raised as
one of these with ``raise ... from e``.
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
