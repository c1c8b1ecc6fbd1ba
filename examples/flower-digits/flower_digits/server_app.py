"""The ServerApp: a pot job on Flower, with pot's strategy, and a report of every round's verdicts.

The circuit uses a development SRS (``ezkl.gen_srs``), so the strategy is told to accept it: this
is a demo. Production builds the circuit with a ceremony SRS (``pot setup --srs FILE``) and leaves
``allow_dev_srs`` off.
"""

from __future__ import annotations

from flwr.app import ArrayRecord, Context, MetricRecord
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import Result

from flower_digits.task import JobOptions, trainer_names
from pot.data import initial_checkpoint
from pot.evaluate import evaluate
from pot.flower import PotStrategy, arrays_to_params, params_to_arrays


def run_job(grid: Grid, options: JobOptions, beacon_seed: bytes | None = None,
            ) -> tuple[PotStrategy, Result]:
    """Run the job's rounds on ``grid``; return the strategy (its evidence) and Flower's result."""
    circuit = options.circuit()
    spec = circuit.spec
    strategy = PotStrategy(circuit=circuit, job_id=options.job_id, steps=options.steps,
                           samples=options.samples, rule=options.aggregation_rule,
                           rule_param=options.rule_param, min_nodes=options.trainers,
                           beacon_seed=beacon_seed,
                           allow_dev_srs=True)  # DEMO ONLY: the circuit's SRS is a development one
    _, test = options.split()

    def central_evaluation(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        accuracy, loss = evaluate(arrays_to_params(arrays, spec), spec, test)
        return MetricRecord({"accuracy": accuracy, "loss": loss})

    result = strategy.start(grid=grid, initial_arrays=params_to_arrays(initial_checkpoint(spec), spec),
                            num_rounds=options.num_server_rounds, evaluate_fn=central_evaluation)
    return strategy, result


def report(strategy: PotStrategy, result: Result, options: JobOptions) -> str:
    """One line per round: test accuracy, then every trainer's verdict."""
    names = trainer_names(options, options.trainers)
    lines = [f"pot on Flower: {options.spec}, {options.trainers} nodes ({options.dishonest} "
             f"dishonest), T = {options.steps}, k = {options.samples}, rule {options.rule}"]
    for rnd, ev in sorted(strategy.rounds.items()):
        accuracy = result.evaluate_metrics_serverapp[rnd]["accuracy"]
        lines.append(f"round {rnd}: test accuracy {accuracy:.3f}")
        for t in sorted(ev.trainers, key=lambda t: names.get(t.trainer or b"", "~")):
            who = names.get(t.trainer or b"", f"node {t.node_id}")
            verdict = (f"accepted, {t.verified_samples} verified samples" if t.verdict.ok
                       else f"rejected: {t.verdict.reason}")
            lines.append(f"  {who:<26} {verdict}")
    return "\n".join(lines)


app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    options = JobOptions.from_run_config(context.run_config)
    strategy, result = run_job(grid, options)
    print(report(strategy, result, options), flush=True)
