"""The errors of the chain-side executor: the ``ChainError`` branch of pot's exception tree.

Every call of the executor (a signed transaction: ``train_request``, ``fund``, ``join``,
``submit``, ``submit_proof``, ``finalize_round``, ``release_slash``, ``appeal``, ``prove_fraud``;
or a block's system step: ``reveal``, ``emit``)
either completes and commits, or raises one of these classes
and leaves the state exactly as it was: a raised :class:`ChainError` *is* a revert. Each class
names one rule; the message says which value broke it. Only the CLI boundary catches them.
"""

from pot.errors import PotError


class ChainError(PotError):
    """Base class of every revert of the chain-side executor."""


class OutOfRangeError(ChainError):
    """A value does not fit the fixed-width type it is converted to (``U64``, ``Bytes32``, ...)."""


class OutOfGasError(ChainError):
    """The gas limit of a call is below the gas its schedule charges."""


class CalldataError(ChainError):
    """The calldata of a TRAIN_REQUEST is not the canonical ABI encoding of its tuple."""


class CalldataTooLargeError(CalldataError):
    """The calldata is longer than ``MAX_CALLDATA_BYTES``."""


class CalldataLengthError(CalldataError):
    """The calldata is shorter or longer than its head and its ``bytes`` length word imply."""


class BadOffsetError(CalldataError):
    """The head offset of the dynamic ``hyperparams`` field is not the canonical ``0xa0``."""


class NonZeroPaddingError(CalldataError):
    """A padding byte of the calldata (after the ``bytes`` payload) is not zero."""


class Uint64OverflowError(CalldataError):
    """A ``uint64`` head word has a non-zero byte in its high 24 bytes."""


class HyperparamsError(CalldataError):
    """The ``hyperparams`` bytes are not a canonical encoding of a valid :class:`Hyperparams`."""


class RequestError(ChainError):
    """A TRAIN_REQUEST decoded, but one of its values breaks a rule of the request."""


class TotalRoundsError(RequestError):
    """``total_rounds`` is zero or above ``MAX_TOTAL_ROUNDS``."""


class MinParticipantsError(RequestError):
    """``min_participants`` is zero or above ``MAX_TRAINERS_PER_JOB``."""


class ZeroReferenceError(RequestError):
    """``model_id`` or ``dataset_ref`` is the zero word."""


class InvalidCidError(ChainError):
    """A CID given as text cannot be parsed or does not name a sha2-256 digest."""


class TxError(ChainError):
    """A transaction is refused before its call runs: its envelope, chain, signature or sender."""


class MalformedTxError(TxError):
    """A transaction's bytes are not the canonical ABI encoding of its envelope or arguments."""


class UnknownCallError(TxError):
    """A transaction names a call that is not in ``pot.chain.tx.CALLS``."""


class WrongChainError(TxError):
    """A transaction was signed for another chain id than this state's."""


class BadSignatureError(TxError):
    """A transaction's signature does not verify under its sender's key (a forged sender)."""


class ProofOfPossessionError(TxError):
    """A ``join`` carries no valid BLS proof of possession of the sender's key."""


class RevealError(ChainError):
    """A block's RANDAO reveal is not the scheduled producer's signature of its height."""


class NonceError(ChainError):
    """The nonce of a TRAIN_REQUEST is not the caller's next nonce."""


class NonceReplayError(NonceError):
    """The caller already used this nonce: the request is a replay."""


class NonceGapError(NonceError):
    """The nonce is above the caller's next nonce."""


class HeightError(ChainError):
    """A call's block height is below the height of the last committed call."""


class UnknownJobError(ChainError):
    """No job has this ``job_id``."""


class JobClosedError(ChainError):
    """The job is completed or failed; it takes no more calls."""


class RoundError(ChainError):
    """The call names a round other than the job's current round."""


class DeadlineError(ChainError):
    """The call's height is outside the window (in block heights) in which the call is allowed."""


class InvalidPubkeyError(ChainError):
    """A trainer public key is not a valid compressed BLS12-381 G1 point."""


class AlreadyJoinedError(ChainError):
    """The trainer already joined this job."""


class JobFullError(ChainError):
    """The job already has ``MAX_TRAINERS_PER_JOB`` trainers."""


class JoinError(ChainError):
    """A join's stake or sample count breaks its range."""


class UnknownTrainerError(ChainError):
    """The public key did not join this job."""


class SubmissionError(ChainError):
    """A submission breaks a rule: step count, payload length, or update commitment."""


class AlreadySubmittedError(ChainError):
    """The trainer already submitted for this round."""


class NoSubmissionError(ChainError):
    """The trainer has no submission in this round to prove."""


class BeaconError(ChainError):
    """The beacon is missing, zero, or already revealed for this round."""


class AlreadyJudgedError(ChainError):
    """The submission already has a verdict; verdicts are final."""


class BundleTooLargeError(ChainError):
    """A proof bundle is longer than ``MAX_BUNDLE_BYTES``."""


class NoVerifierError(ChainError):
    """The executor has no verifier, or its verifier cannot judge the job's bundles (pot's node
    lacks the job's spec or circuit): ``submit_proof``, ``appeal`` and ``prove_fraud`` revert."""


class VerifierFaultError(ChainError):
    """The verifier crashed (``MemoryError`` included) or broke its contract on a bundle: a fault
    of this node that shows nothing about the bundle, so nothing is recorded (retry the call)."""


class InsufficientBalanceError(ChainError):
    """An account's balance is below the wei a call moves out of it (an escrow or a stake)."""


class FundError(ChainError):
    """A deposit into a job's escrow breaks a rule: a zero amount, or a funder other than the
    job's requester."""


class EmissionError(ChainError):
    """A block reward is emitted twice for one height, or for a height below the last emission."""


class NoPendingSlashError(ChainError):
    """The trainer has no pending slash in this round of this job (none, or released or voided
    already)."""


class ChallengeWindowError(ChainError):
    """A slash is released before its challenge window has passed."""


class ClaimError(ChainError):
    """An appeal against a slash or a proof of fraud breaks one of its rules."""


class BundleMismatchError(ClaimError):
    """The bundle shown is not the one judged: its keccak256 is not the stored ``bundle_hash``."""


class NotAppealableError(ClaimError):
    """The pending slash is not for a rejected proof: a ``missed_deadline`` slash has no bundle to
    re-verify, and a ``fraud`` slash is itself the verdict of a re-verification."""


class AppealWindowError(ClaimError):
    """An appeal arrives at or after its slash's release height: the challenge window has closed."""


class AppealRejectedError(ClaimError):
    """The verifier rejects the appealed bundle again: the slash stands."""




class NotFinalizedError(ClaimError):
    """A fraud proof names a round that is not finalized: it has no final rewards to claim."""


class NotAcceptedError(ClaimError):
    """A fraud proof names a submission that was not accepted: only an accepted bundle escapes."""


class NoRewardError(ClaimError):
    """A fraud proof names an accepted submission for which its round's settlement records no
    reward (the settler paid nobody): there is nothing to claim."""


class AlreadyClaimedError(ClaimError):
    """Fraud on this submission was proven already; an offence is claimed once."""


class FraudNotProvenError(ClaimError):
    """The verifier still accepts the bundle: no fraud is shown."""


class FinalizeError(ChainError):
    """The round cannot be finalized yet, or a hook returned a result that breaks its contract."""


class StateError(ChainError):
    """The state file or an imported state export is missing, corrupt, or inconsistent."""
