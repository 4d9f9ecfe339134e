#!/usr/bin/env python3
"""Runs the peer for bench/serve-peer.sh: fast-feature (PyPI `fast-feature` 0.0.2, a FastAPI
OFREP server with ETag/304 on the bulk endpoint) under uvicorn on 127.0.0.1, with its in-memory
repository filled from a flagd flag-definition file. fast-feature has no file loading of its own
(flags come through its admin API), so this does the loading and nothing else; the app, router,
evaluator and ETag are the package's own.

Usage: peer_fast_feature.py FLAGS.json PORT
"""
import json
import sys

import uvicorn
from fast_feature.core import Flag
from fast_feature.core.flag import FlagState
from fast_feature.ofrep import OfrepRouter
from fast_feature.storage.inmemory import InMemoryFlagRepository
from fastapi import FastAPI

path, port = sys.argv[1], int(sys.argv[2])
with open(path) as f:
    doc = json.load(f)
flags = [
    Flag(key=key, variants=spec["variants"], default_variant=spec["defaultVariant"],
         state=FlagState(spec.get("state", "ENABLED")), targeting=spec.get("targeting") or None,
         metadata=spec.get("metadata", {}))
    for key, spec in doc["flags"].items()
]
app = FastAPI(title="fast-feature")
app.include_router(OfrepRouter.build(InMemoryFlagRepository(flags)))
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
