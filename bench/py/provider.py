"""The PyPI `openfeature-provider-ofrep` provider as a provider under test for `ofrep conform --provider`.

    bench/out/py-venv/bin/python -m pip install openfeature-provider-ofrep==0.3.0 openfeature-sdk
    ofrep conform --provider 'bench/out/py-venv/bin/python bench/py/provider.py'

Builds the provider from OFREP_ENDPOINT (or the first argument) and evaluates the boolean flag
`conform-enabled` every 500 ms until SIGTERM or SIGINT. Version 0.3.0 only has single-flag
evaluation (POST /ofrep/v1/evaluate/flags/{key}), so it is graded as a dynamic-context provider.
Prints each evaluation's value and reason (or error) on stderr, which `conform` shows when a
scenario errors; nothing on stdout.
"""

import os
import signal
import sys
import threading

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

FLAG = "conform-enabled"
INTERVAL_S = 0.5


def main() -> int:
    base_url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OFREP_ENDPOINT")
    if not base_url:
        print("usage: OFREP_ENDPOINT=URL provider.py   (or: provider.py URL)", file=sys.stderr)
        return 2

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    api.set_provider(OFREPProvider(base_url, timeout=2.0))
    api.set_evaluation_context(EvaluationContext(targeting_key="ofrep-conform"))
    client = api.get_client()
    while not stop.is_set():
        details = client.get_boolean_details(FLAG, False)
        outcome = details.error_message or details.reason
        print(f"provider.py: {FLAG} = {details.value} ({outcome})", file=sys.stderr, flush=True)
        stop.wait(INTERVAL_S)
    api.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
