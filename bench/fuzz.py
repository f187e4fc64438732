"""Hostile input against every route of horseshoe's URL map and every connector's parser.

``python -m bench fuzz [--quick] [--inputs N]`` (default 100,000 inputs; ``--quick``: 5,000): hypothesis
draws, for a route of ``app.url_map`` (every rule, every method it allows, arguments filled in with
real and hostile values), a body (raw bytes, invalid UTF-8, deep nesting, huge numbers, random JSON,
form fields by the names horseshoe reads, a documented webhook body with fields replaced by wrong
types), headers and a query string; webhook bodies go both signed (the mutation re-signed with the
account's secret, so it reaches the parser) and with the original, now wrong, signature. Connectors'
``parse_payload`` and ``parse_webhook`` get the same mutations of their documented payloads directly.

A 5xx answer is a server error; an exception escaping a view (Flask's ``got_request_exception``) or a
parser raising anything but ``BadInput`` is a crash. Ends with ``{"inputs", "server_errors", "crashes"}``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flask import got_request_exception
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table
from werkzeug.routing import Rule

from bench import fuzz_inputs as hostile
from bench.fuzz_world import FuzzWorld, Seed, build
from plugin.connector import InboundRequest
from plugin.errors import BadInput

# ``DataObject.draw`` (a bound method hypothesis types as ``DrawFn``, which a bound method does not match)
Draw = Callable[..., Any]
SAMPLES = 20  # findings kept with their traceback, per kind


@dataclass
class Tally:
    inputs: int = 0
    server_errors: int = 0
    crashes: int = 0
    by_target: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)  # "target status": shows inputs got past the gates
    findings: dict[str, str] = field(default_factory=dict)  # "target: error" -> a traceback or request

    def found(self, key: str, detail: str) -> None:
        if key not in self.findings and len(self.findings) < SAMPLES * 4:
            self.findings[key] = detail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inputs", type=int, default=None, help="default 100,000 (--quick: 5,000)")
    parser.add_argument("--seed", type=int, default=12)


def encode(value: str) -> str:
    """Percent-encode anything, lone surrogates included (sent as the bytes a broken client sends)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def route_args(draw: Draw, world: FuzzWorld, rule: Rule) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in sorted(rule.arguments, key=lambda n: n != "network"):  # the network first: keys are per network
        converter = type(rule._converters[name]).__name__  # werkzeug offers no public way to ask
        real = draw(st.integers(0, 4)) > 0  # mostly a real address, so inputs get past the look-up
        if name == "network":
            values[name] = draw(st.sampled_from(sorted(world.public_keys)) if real else hostile.TEXTS.filter(bool))
        elif name == "public_key":
            network = values.get("network")
            key = world.public_keys.get(network or "")
            values[name] = key if real and key else draw(hostile.TEXTS.filter(bool))
        elif converter == "IntegerConverter":
            values[name] = str(draw(st.one_of(st.integers(0, 10), hostile.HUGE_INTS.map(abs))))
        elif converter == "AnyConverter":
            values[name] = draw(st.sampled_from(sorted(rule._converters[name].items)))  # type: ignore[attr-defined]
        else:
            values[name] = draw(hostile.TEXTS.filter(bool))
    return values


def build_path(rule: Rule, values: dict[str, str]) -> str:
    parts = []
    for piece in rule.rule.split("/"):
        if piece.startswith("<") and piece.endswith(">"):
            name = piece[1:-1].split(":")[-1].split("(")[0]
            parts.append(encode(values[name]))
        else:
            parts.append(piece)
    return "/".join(parts)


def request_for(draw: Draw, world: FuzzWorld, rule: Rule, method: str) -> tuple[str, dict[str, Any]]:
    values = route_args(draw, world, rule)
    headers = draw(hostile.HEADERS)
    query = draw(hostile.FIELDS)
    if draw(st.booleans()):
        query["metadata"] = world.metadata  # the signed variant: Zendesk metadata horseshoe issued
    documented = hostile.documented(rule.rule, world.metadata)
    kinds = ["none", "raw", "form", "seed"] if method != "GET" else ["none"]
    if documented:
        kinds += ["documented"] * 3
    if "public_key" in rule.arguments and method != "GET":
        kinds += ["seed"] * 3  # webhooks: mostly documented bodies, so the parsers behind them are reached
    kind = draw(st.sampled_from(kinds))
    body: bytes | None = None
    form: dict[str, str] | None = None
    if kind == "documented" and documented is not None:
        shape, template, auth = documented
        if auth and draw(st.integers(0, 3)):
            headers["Authorization"] = f"Bearer {world.metadata}"
        mutation = draw(hostile.mutated(template)) if draw(st.integers(0, 3)) else template
        if shape == "query":
            query = hostile.as_form(mutation)
        elif shape == "form" and method != "GET":
            form = hostile.as_form(mutation)
        elif method != "GET":
            body = hostile.dumps(mutation)
            headers.setdefault("Content-Type", "application/json")
    elif kind == "raw":
        body = draw(hostile.RAW_BODIES)
    elif kind == "form":
        form = draw(hostile.FIELDS)
        if draw(st.booleans()):
            form["metadata"] = world.metadata
    elif kind == "seed" and world.seeds:
        seed: Seed = draw(st.sampled_from(world.seeds))
        body = hostile.dumps(draw(hostile.mutated(seed.body_json())))
        signed = draw(st.booleans())
        headers = {**seed.request.headers, **(seed.signed(body) if signed else {})}
        if "network" in values and draw(st.integers(0, 3)):
            values["network"], values["public_key"] = seed.network, world.public_keys[seed.network]
        query = dict(seed.request.query) if draw(st.booleans()) else query
    path = build_path(rule, values)
    query_string = "&".join(f"{encode(k)}={encode(v)}" for k, v in query.items())
    options: dict[str, Any] = {"method": method, "headers": headers, "query_string": query_string}
    if form is not None:
        options["data"] = {k: v.encode("utf-8", "surrogatepass") for k, v in form.items()}
    elif body is not None:
        options["data"] = body
    return path, options


def fuzz_route(data: st.DataObject, world: FuzzWorld, rule: Rule, method: str, tally: Tally) -> None:
    path, options = request_for(data.draw, world, rule, method)
    name = f"{method} {rule.rule}"
    tally.by_target[name] += 1
    client = world.app.test_client()
    try:
        response = client.open(path, **options)
    except Exception as exc:
        tally.crashes += 1
        tally.found(f"{name}: {type(exc).__name__}", traceback.format_exc())
        return
    tally.statuses[f"{name} {response.status_code}"] += 1
    if response.status_code >= 500:
        tally.server_errors += 1
        tally.found(f"{name}: HTTP {response.status_code}", f"{path} {options!r:.2000}")


def fuzz_parser(data: st.DataObject, world: FuzzWorld, network: str, tally: Tally) -> None:
    connector = world.runtime.registry.connector(network)
    seeds = [s for s in world.seeds if s.network == network]
    use_webhook = bool(seeds) and data.draw(st.booleans())
    name = f"{network}.{'parse_webhook' if use_webhook else 'parse_payload'}"
    tally.by_target[name] += 1
    try:
        if use_webhook:
            seed = data.draw(st.sampled_from(seeds))
            body = hostile.dumps(data.draw(hostile.mutated(seed.body_json())))
            request = InboundRequest("POST", seed.request.path, seed.signed(body), body, dict(seed.request.query))
            connector.parse_webhook(request, seed.secrets)
            tally.statuses[f"{name} parsed"] += 1
            return
        else:
            documented = world.payloads.get(network) or []
            payload = data.draw(hostile.mutated(data.draw(st.sampled_from(documented)))) if documented else None
            if payload is None or data.draw(st.integers(0, 4)) == 0:
                payload = data.draw(hostile.JSON_VALUES)
            connector.parse_payload(payload, data.draw(st.one_of(st.none(), hostile.TEXTS)))
        tally.statuses[f"{name} parsed"] += 1
    except BadInput:
        tally.statuses[f"{name} BadInput"] += 1
        return  # the documented refusal of a payload that cannot be understood
    except Exception as exc:
        tally.crashes += 1
        tally.found(f"{name}: {type(exc).__name__}", traceback.format_exc())


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


# Inputs per hypothesis run. Hypothesis keeps a tree of every choice sequence it generated in a run
# (to avoid repeats), so the cost of each input grows with the run's length; py-spy showed a 25,000-
# input run spending a fifth of its main thread in that engine bookkeeping. A long fuzz is therefore
# a series of fresh runs on the same app and fakes, each with its own seed derived from --seed (the
# first chunk uses --seed itself): the same inputs kinds, the same checks, a flat cost per input.
CHUNK = 2_500


def chunks(total: int) -> list[int]:
    return [min(CHUNK, total - start) for start in range(0, total, CHUNK)]


def chunk_seed(seed: int, index: int) -> int:
    return seed if index == 0 else seed * 1_000_003 + index


def run_chunk(test: Any, count: int, seed: int) -> None:
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis_seed(seed)
    @given(st.data())
    def chunk(data: st.DataObject) -> None:
        test(data)

    chunk()


def run(quick: bool = False, inputs: int | None = None, seed: int = 12) -> dict[str, Any]:
    total = inputs if inputs is not None else (5_000 if quick else 100_000)
    logging.getLogger("plugin").setLevel(logging.CRITICAL)  # the findings are counted, not logged
    # SIGTERM (a timeout, CI cancelling) unwinds, so the fakes stop and the data directory goes.
    signal.signal(signal.SIGTERM, _terminate)
    data_dir = tempfile.mkdtemp(prefix="horseshoe-fuzz-")
    world = build(data_dir)
    tally = Tally()
    escaped: list[BaseException] = []

    def on_exception(_sender: Any, exception: BaseException, **_extra: Any) -> None:
        escaped.append(exception)

    got_request_exception.connect(on_exception, world.app)
    world.app.logger.setLevel(logging.CRITICAL)
    rules = [r for r in world.app.url_map.iter_rules() if r.endpoint != "static"]
    targets: list[tuple[str, Any]] = [
        (f"{m} {r.rule}", (r, m)) for r in rules for m in sorted((r.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    targets += [(f"parser {n}", n) for n in sorted(world.runtime.registry.connectors)]

    def one(data: st.DataObject) -> None:
        tally.inputs += 1
        label, target = data.draw(st.sampled_from(targets))
        before = len(escaped)
        if isinstance(target, str):
            fuzz_parser(data, world, target, tally)
        else:
            fuzz_route(data, world, target[0], target[1], tally)
        for exc in escaped[before:]:
            tally.crashes += 1
            tally.found(f"{label}: {type(exc).__name__}", "".join(traceback.format_exception(exc)))

    started = time.monotonic()
    try:
        for index, count in enumerate(chunks(total)):
            run_chunk(one, count, chunk_seed(seed, index))
            Console(stderr=True).print(
                f"fuzz: {tally.inputs:,}/{total:,} inputs, {tally.server_errors} server errors, "
                f"{tally.crashes} crashes, {time.monotonic() - started:.0f} s"
            )
    finally:
        world.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    show(tally, len(rules), len(targets))
    return {
        "inputs": tally.inputs,
        "server_errors": tally.server_errors,
        "crashes": tally.crashes,
        "routes": len(rules),
        "targets": len(targets),
        "findings": sorted(tally.findings),
    }


def show(tally: Tally, routes: int, targets: int) -> None:
    console = Console(stderr=True)
    table = Table(title=f"fuzz: {tally.inputs} inputs over {routes} routes and every parser ({targets} targets)")
    table.add_column("target")
    table.add_column("inputs", justify="right")
    table.add_column("answers", justify="left")
    for name, n in sorted(tally.by_target.items()):
        answers = sorted((k.rsplit(" ", 1)[1], v) for k, v in tally.statuses.items() if k.rsplit(" ", 1)[0] == name)
        table.add_row(name, str(n), " ".join(f"{status}:{count}" for status, count in answers))
    console.print(table)
    for key, detail in sorted(tally.findings.items()):
        console.print(f"[bold red]{key}[/bold red]\n{detail[-3000:]}")
