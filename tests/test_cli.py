"""The command line's shape: parsing loads nothing heavy, and every command reaches its function."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from finkpi.cli import Handler, build_parser, main

# What `import finkpi.cli` must not load: each costs start-up time a command that does not need it
# should not pay (dbt ~2 s, MetricFlow, pandas ~0.3 s, the HTTP stack, Great Expectations).
HEAVY = (
    "dbt",
    "metricflow",
    "dbt_metricflow",
    "pandas",
    "fastapi",
    "uvicorn",
    "great_expectations",
    "sqlglot",
)


def test_importing_the_command_line_loads_nothing_heavy():
    probe = "import json, sys, finkpi.cli; print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    loaded = set(json.loads(subprocess.check_output([sys.executable, "-c", probe], text=True)))
    assert "finkpi" in loaded  # the probe did import it
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def _handlers(parser: argparse.ArgumentParser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _handlers(sub, (*path, name))
    handler = parser.get_default("func")
    if handler is not None:
        yield " ".join(path), handler


def test_every_command_resolves_to_its_function():
    handlers = dict(_handlers(build_parser()))
    assert {"run", "query", "metrics check", "serve", "source new", "audit verify"} <= set(handlers)
    for command, handler in handlers.items():
        assert isinstance(handler, Handler), command
        function = handler.resolve()
        assert callable(function), command
        assert function.__module__ == f"finkpi.cli.{handler.module}", command


def test_a_wrong_argument_is_a_sentence_and_exit_2(capsys):
    # a ValueError from the command's own module (imported on the call) is caught by main
    status = main(["source", "new", "Bad Name", "--kind", "crm"])
    assert status == 2
    assert "finkpi: source name 'Bad Name'" in capsys.readouterr().err


def test_an_unknown_command_stops_in_the_parser():
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["nonsense"])
    assert stopped.value.code == 2
