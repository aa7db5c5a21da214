"""Regenerate spec/vectors/*.json by running the reference client against Redis.

    python -m tools.vectors.generate --redis redis://127.0.0.1:16500 \
        [--ref-python /path/to/reference-venv/bin/python]

Without --ref-python (or $BLISSDATA_REFERENCE_PYTHON), the reference venv of
blissdata_core.testing is used, created under ~/.cache/blissdata if needed.

The Redis database must be dedicated to this run (it is initialised by the
reference client when empty; keys are left behind).  Expected results are
what the reference client publishes and reads; malformed vectors state the
protocol's rule and record what the reference client did beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import redis

from tools import ROOT, module_env
from tools.conformance.loader import load_case, load_store_case, normalize_document
from tools.vectors import cases, doc_cases, h5maps_cases

FORMAT = 1


def default_reference_python() -> str | None:
    """The reference venv that blissdata_core.testing manages (created on first use)."""
    try:
        from blissdata_core.testing import reference_python_path

        return str(reference_python_path())
    except Exception as exc:  # not installed, no network...
        print(f"no reference interpreter: {exc}", file=sys.stderr)
        return None


def run_ref(ref_python: str, job: dict) -> dict:
    proc = subprocess.run(
        [ref_python, "-m", "tools.vectors.ref_driver"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
        env=module_env(),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"reference driver failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def _clean(obj):
    """Keep only the class name of errors nested in results (cursor reads)."""
    if isinstance(obj, list):
        return [_clean(x) for x in obj]
    if isinstance(obj, dict):
        if "error" in obj and "mro" in obj:
            return {"error": obj["error"]}
        return {k: _clean(v) for k, v in obj.items()}
    return obj


def _expect_from(result: dict) -> dict:
    if "error" in result:
        return {"error": result["error"]}
    return {"value": _clean(result["value"])}


def _reads_with_expect(ops: list[dict], results: list[dict]) -> list[dict]:
    return [{**op, "expect": _expect_from(res)} for op, res in zip(ops, results)]


_ULID = re.compile(r"\b[0-7][0-9A-HJKMNP-TV-Z]{25}\b")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _stable_ulids(obj):
    """Replace the reference's random ULIDs by fixed ones, in order of appearance,
    so that regenerating gives the same files."""
    mapping: dict[str, int] = {}

    def fixed(match: re.Match) -> str:
        n = mapping.setdefault(match.group(0), len(mapping) + 1)
        digits = ""
        while n:
            n, r = divmod(n, 32)
            digits = _CROCKFORD[r] + digits
        return ("01J" + "0" * 23)[: 26 - len(digits)] + digits

    return json.loads(_ULID.sub(fixed, json.dumps(obj)))


def _write(out: Path, name: str, kind: str, description: str, items: list[dict]) -> None:
    doc = {"format": FORMAT, "kind": kind, "description": description, "cases": items}
    (out / name).write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    print(f"{name}: {len(items)} cases")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--redis", default=os.environ.get("BLISSDATA_REDIS_URL"))
    parser.add_argument("--ref-python", default=os.environ.get("BLISSDATA_REFERENCE_PYTHON"))
    parser.add_argument("--out", default=str(ROOT / "spec" / "vectors"))
    args = parser.parse_args()
    if not args.ref_python:
        args.ref_python = default_reference_python()
    if not args.redis or not args.ref_python:
        parser.error(
            "--redis and --ref-python (or BLISSDATA_REDIS_URL / BLISSDATA_REFERENCE_PYTHON) are required"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    r = redis.Redis.from_url(args.redis)
    run_ref(args.ref_python, {"op": "init", "url": args.redis})

    # 1. publish every recipe with the reference client
    recipes = cases.produced_streams()
    identity = {"name": "vectors", "number": 1, "data_policy": "no_policy"}
    jobs = [
        {
            "op": "produce",
            "url": args.redis,
            "identity": identity,
            "streams": [{k: rec[k] for k in ("name", "dtype", "shape", "sends", "seal")}],
            "close": rec["seal"],
        }
        for rec in recipes
    ]
    produced = run_ref(args.ref_python, {"op": "batch", "jobs": jobs})["results"]

    decode_cases, encode_cases = [], []
    read_jobs = []
    for rec, prod in zip(recipes, produced):
        stream = prod["streams"][rec["name"]]
        case = {
            "name": rec["case"],
            "description": rec["description"],
            "stream": {"name": rec["name"], "encoding": stream["encoding"], "info": stream["info"]},
            "entries": stream["entries"],
        }
        scan_key, name = load_case(r, case)
        read_jobs.append(
            {
                "op": "read",
                "url": args.redis,
                "scan_key": scan_key,
                "stream": name,
                "ops": rec["reads"] + cases.CURSOR_READS + [{"op": "slice"}],
            }
        )
        decode_cases.append(case)
        seal_return = next((x["seal"] for x in stream["send_results"] if "seal" in x), None)
        encode_cases.append(
            {
                "name": rec["case"],
                "description": rec["description"],
                "definition": {"name": rec["name"], "dtype": rec["dtype"], "shape": rec["shape"]},
                "sends": rec["sends"],
                "seal": rec["seal"],
                "expect": {
                    "encoding": stream["encoding"],
                    "info": stream["info"],
                    "entries": stream["entries"],
                    "seal_return": seal_return,
                },
            }
        )
    hand = cases.handmade_decode()
    for h in hand:
        scan_key, name = load_case(r, h)
        read_jobs.append(
            {
                "op": "read",
                "url": args.redis,
                "scan_key": scan_key,
                "stream": name,
                "ops": h["reads"] + cases.CURSOR_READS,
            }
        )
    read_results = run_ref(args.ref_python, {"op": "batch", "jobs": read_jobs})["results"]

    for i, case in enumerate(decode_cases):
        res = read_results[i]
        if "load_error" in res:
            raise RuntimeError(f"{case['name']}: reference could not load: {res}")
        ops = recipes[i]["reads"] + cases.CURSOR_READS
        case["reads"] = _reads_with_expect(ops, res["results"][: len(ops)])
        whole = res["results"][-1]
        encode_cases[i]["expect"]["decoded"] = whole["value"]
        case["kind"] = "decode"
    offset = len(decode_cases)
    for j, h in enumerate(hand):
        res = read_results[offset + j]
        if "load_error" in res:
            raise RuntimeError(f"{h['name']}: reference could not load: {res}")
        decode_cases.append(
            {
                "name": h["name"],
                "description": h["description"],
                "kind": "decode",
                "stream": {"name": "data", **h["stream"]},
                "entries": h["entries"],
                "reads": _reads_with_expect(h["reads"] + cases.CURSOR_READS, res["results"]),
            }
        )
    for c in encode_cases:
        c["kind"] = "encode"

    # 2. malformed entries: the rule is ours; record what the reference did
    malformed = []
    mal_jobs = []
    for name, description, encoding, entries, ops, error in cases.handmade_malformed():
        case = {
            "name": name,
            "description": description,
            "kind": "malformed",
            "stream": {"name": "data", "encoding": encoding, "info": {}},
            "entries": entries,
            "reads": ops,
            "expect_error": error if isinstance(error, list) else [error],
        }
        scan_key, sname = load_case(r, case)
        mal_jobs.append(
            {"op": "read", "url": args.redis, "scan_key": scan_key, "stream": sname, "ops": ops}
        )
        malformed.append(case)
    mal_results = run_ref(args.ref_python, {"op": "batch", "jobs": mal_jobs})["results"]
    for case, res in zip(malformed, mal_results):
        if "load_error" in res:
            case["reference"] = {"raises": res["load_error"]["error"], "at": "load"}
        else:
            errs = [x["error"] for x in res["results"] if "error" in x]
            case["reference"] = {"raises": errs[0], "at": "read"} if errs else {"raises": None}

    # 3. documents: a scan with plugins and h5maps, through every state
    doc_job = {
        "op": "produce",
        "url": args.redis,
        "identity": {
            "name": "ascan",
            "number": 7,
            "data_policy": "ESRF",
            "session": "s1",
            "proposal": "ihch1234",
            "collection": "sample",
            "dataset": "0001",
            "path": "/data/id00/sample/sample_0001/sample_0001.h5",
        },
        "info": {"title": "ascan sx 0 1 3 0.1", "npoints": 4, "nan_becomes_null": float("nan")},
        "info_before_prepare": {"h5maps": doc_cases.H5MAPS},
        "info_at_close": {"end_reason": "SUCCESS"},
        "streams": [
            {
                "name": "axis:sx",
                "dtype": "float64",
                "shape": [],
                "info": {"unit": "mm"},
                "sends": [],
                "seal": True,
            },
            {"name": "diode", "dtype": "<i4", "shape": [], "sends": [], "seal": True},
            {"name": "mca:spectrum", "dtype": "uint32", "shape": [1024], "sends": [], "seal": True},
            {"name": "dyn", "dtype": ">f4", "shape": [-1, 2], "sends": [], "seal": True},
            {
                "name": "events",
                "dtype": "json",
                "shape": None,
                "info": {"note": "free"},
                "sends": [],
                "seal": True,
            },
            {
                "name": "fallback",
                "plugin": "hdf5_fallback",
                "file_path": "/data/x.h5",
                "data_path": "/1.1/measurement/fallback",
                "dtype": "float32",
                "shape": [],
                "sends": [],
                "seal": True,
            },
            {"name": "subscans", "plugin": "scan_sequence", "sends": [], "seal": True},
            {
                "name": "lima:image",
                "plugin": "lima",
                "lima": {
                    "dtype": "uint16",
                    "shape": [-1, -1],
                    "server_url": "tango://host:10000/id00/limaccds/det",
                    "buffer_max_number": 10,
                    "frames_per_acquisition": 5,
                    "acquisition_offset": 0,
                    "saving": {
                        "file_path": "/data/lima_%04d.h5",
                        "data_path": "/entry_0000/measurement/data",
                        "file_format": "hdf5",
                        "file_offset": 0,
                        "frames_per_file": 100,
                    },
                },
                "sends": [],
                "seal": True,
            },
        ],
    }
    doc_prod = run_ref(args.ref_python, doc_job)
    valid_docs = [
        (f"reference-{state.lower()}", f"as written by the reference client at {state}", d)
        for state, d in doc_prod["documents"].items()
    ]
    # a minimal scan too
    min_prod = run_ref(
        args.ref_python,
        {
            "op": "produce",
            "url": args.redis,
            "identity": {"name": "ct", "number": 0, "data_policy": "no_policy"},
            "streams": [],
            "close": False,
        },
    )
    valid_docs.append(
        (
            "reference-minimal-started",
            "a scan without streams, as written at STARTED",
            min_prod["documents"]["STARTED"],
        )
    )
    closed = doc_prod["documents"]["CLOSED"]
    slim = {**closed, "info": {k: v for k, v in closed["info"].items() if k != "h5maps"}}
    broken = [(n, d, f(slim)) for n, d, f in doc_cases.SCAN_BROKEN]
    all_scan_docs = [d for _, _, d in valid_docs] + [d for _, _, d in broken]
    accepted = run_ref(
        args.ref_python,
        {"op": "validate", "what": "scan", "url": args.redis, "documents": all_scan_docs},
    )["accepted"]
    documents = []
    for (n, d, doc), acc in zip(valid_docs + broken, accepted):
        valid = n.startswith("reference-")
        documents.append(
            {
                "name": f"scan-{n}",
                "description": d,
                "kind": "document",
                "schema": "scan",
                "valid": valid,
                "reference_accepts": acc,
                "document": doc,
            }
        )
    # h5maps
    h5 = [("h5maps-full", "every item and value type", doc_cases.H5MAPS, True)]
    h5.append(("h5maps-empty", "no file", {}, True))
    h5 += [(f"h5maps-{n}", d, f(doc_cases.H5MAPS), False) for n, d, f in doc_cases.H5MAPS_BROKEN]
    acc = run_ref(
        args.ref_python,
        {"op": "validate", "what": "h5maps", "url": args.redis, "documents": [x[2] for x in h5]},
    )["accepted"]
    for (n, d, doc, valid), a in zip(h5, acc):
        case = {"name": n, "description": d, "kind": "document", "schema": "h5maps"}
        case.update({"valid": valid, "reference_accepts": a, "document": doc})
        if n.removeprefix("h5maps-") in doc_cases.BEYOND_SCHEMA:
            case["beyond_schema"] = True
        documents.append(case)
    # encodings and stream infos seen in the produced documents
    seen = set()
    for name, model in closed["data_streams"].items():
        for schema, part in (("encoding", model["encoding"]), ("stream-info", model["info"])):
            key = json.dumps(part, sort_keys=True)
            if (schema, key) in seen:
                continue
            seen.add((schema, key))
            documents.append(
                {
                    "name": f"{schema}-{name}",
                    "description": f"{schema} of stream {name!r} as the reference wrote it",
                    "kind": "document",
                    "schema": schema,
                    "valid": True,
                    "document": part,
                }
            )
    for n, enc in doc_cases.ENCODING_BROKEN:
        documents.append(
            {
                "name": f"encoding-{n}",
                "description": "broken encoding",
                "kind": "document",
                "schema": "encoding",
                "valid": False,
                "document": enc,
            }
        )

    _write(
        out,
        "decode.json",
        "decode",
        "Entries to load into Redis and what a reader must return for each read.",
        decode_cases,
    )
    _write(
        out,
        "encode.json",
        "encode",
        "send() calls (each followed by join()) and the exact entries they must produce.",
        encode_cases,
    )
    _write(
        out,
        "malformed.json",
        "malformed",
        "Entries that break the protocol and the error class a reader must raise.",
        malformed,
    )
    documents = _stable_ulids(documents)

    # 5. data store operations, each on a database holding only its scans
    store_cases = []
    for rec in cases.STORE_CASES:
        r.flushall()
        run_ref(args.ref_python, {"op": "init", "url": args.redis})
        keys, timetags = load_store_case(r, rec)
        res = run_ref(
            args.ref_python,
            {
                "op": "store",
                "url": args.redis,
                "keys": keys,
                "timetags": timetags,
                "ops": rec["ops"],
            },
        )
        store_cases.append(
            {**rec, "kind": "store", "ops": _reads_with_expect(rec["ops"], res["results"])}
        )
    r.flushall()
    run_ref(args.ref_python, {"op": "init", "url": args.redis})
    _write(
        out,
        "store.json",
        "store",
        "Databases holding a few scans and what data store operations (search, last/next scan, states, load) return.",
        store_cases,
    )

    # 4. life cycles: the documents and entries a producer writes
    lifecycles = []
    for rec in cases.LIFECYCLES:
        job = {"op": "produce", "url": args.redis, "close": True}
        job.update({k: v for k, v in rec.items() if k not in ("name", "description")})
        job["info"] = {**rec["info"], **{k: float("nan") for k in rec.get("info_nan_keys", [])}}
        job["streams"] = [{**s, "sends": [], "seal": False} for s in rec["streams"]]
        prod = run_ref(args.ref_python, job)
        lifecycles.append(
            {
                **{k: v for k, v in rec.items()},
                "kind": "lifecycle",
                "expect": {
                    "documents": {k: normalize_document(d) for k, d in prod["documents"].items()},
                    "state_entries": prod["state_entries"],
                    "history_entries": len(prod["history_entries"]),
                },
            }
        )
    _write(
        out,
        "lifecycle.json",
        "lifecycle",
        "Scans published through every state and the documents and entries the producer must write.",
        lifecycles,
    )
    _write(
        out,
        "documents.json",
        "document",
        "Documents and whether the JSON Schemas in spec/schemas accept them.",
        documents,
    )
    h5maps_cases.write(out)  # from blissdata_core.h5maps: the reference has no h5maps decoder


if __name__ == "__main__":
    main()
