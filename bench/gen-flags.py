#!/usr/bin/env python3
"""Writes a flagd flag-definition file with N flags (default 10,000) to stdout.

A mix that looks like a real flag set: booleans, strings, integers and floats, a tenth with a
JsonLogic targeting rule on the targeting key, and one in fifty disabled. Deterministic: the
same N always gives the same file, so runs compare.
"""
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
flags = {}
for i in range(n):
    kind = i % 4
    if kind == 0:
        variants, default = {"on": True, "off": False}, "off"
    elif kind == 1:
        variants, default = {"a": f"text-{i}-a", "b": f"text-{i}-b"}, "a"
    elif kind == 2:
        variants, default = {"a": i, "b": i * 2}, "b"
    else:
        variants, default = {"a": i / 7, "b": i / 3}, "a"
    flag = {
        "state": "DISABLED" if i % 50 == 49 else "ENABLED",
        "variants": variants,
        "defaultVariant": default,
    }
    if i % 10 == 5:
        other = next(k for k in variants if k != default)
        flag["targeting"] = {
            "if": [{"in": [{"var": "targetingKey"}, ["u", "user-1", "beta"]]}, other, default]
        }
    flags[f"flag-{i:05d}"] = flag
json.dump({"flags": flags, "metadata": {"flagSetId": "bench", "version": "1"}}, sys.stdout)
