"""CLI options, their environment variables, and JSON log lines."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from fhir_server import logs
from fhir_server.cli import parser
from fhir_server.config import Settings


def test_settings_from_environment_and_overrides() -> None:
    env = {"FHIR_PORT": "9090", "FHIR_STORE": "mongodb://db/fhir", "FHIR_BASE_URL": "https://x.org/fhir/"}
    s = Settings.from_env(env)
    assert (s.port, s.store, s.fhir_base) == (9090, "mongodb://db/fhir", "https://x.org/fhir")
    s = Settings.from_env(env, port=7000, store=None)
    assert (s.port, s.store) == (7000, "mongodb://db/fhir")
    assert Settings.from_env({}).fhir_base == "http://127.0.0.1:8080/fhir"
    assert (Settings.from_env({}).chain_limit, Settings.from_env({"FHIR_CHAIN_LIMIT": "50"}).chain_limit) == (
        1000,
        50,
    )


def test_cli_parses_serve_options() -> None:
    args = parser().parse_args(
        [
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "81",
            "--store",
            "sqlite:///x.db",
            "--base-url",
            "http://h/fhir",
        ]
    )
    assert (args.host, args.port, args.store, args.base_url) == (
        "0.0.0.0",
        81,
        "sqlite:///x.db",
        "http://h/fhir",
    )


def test_python_dash_m_is_the_same_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "fhir_server", "serve", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert "--store" in out.stdout and "--base-url" in out.stdout


def test_log_lines_are_json_with_fields() -> None:
    record = logging.LogRecord("fhir_server.http", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"request_id": "abc", "status": 201}
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["msg"] == "request" and line["request_id"] == "abc" and line["status"] == 201
    assert line["level"] == "info" and line["ts"].endswith("Z")
