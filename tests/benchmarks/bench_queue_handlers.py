"""The no-op job handler of bench_queue.py (loaded by its workers through TESSERA_JOB_MODULES)."""
from tessera.automation import register


@register("bench.noop")
def noop(payload, context):
    return None
