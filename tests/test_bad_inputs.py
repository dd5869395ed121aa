"""Bad input to any command: one line on stderr naming what is wrong, exit 2, no traceback,
nothing left stuck (fuzzed with hypothesis besides a corpus of known offenders)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from healer.cli import app
from healer.domain import Step
from healer.store import SqliteStore

runner = CliRunner()
ALIAS_BOMB = (
    'a: &a ["x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b]\n'
)
CORPUS: dict[str, bytes] = {
    "empty": b"",
    "latin-1": "café: 1\n".encode("latin-1"),
    "binary": bytes(range(256)),
    "nan": b'{"detail": {"value": NaN}}\nnot json\n',
    "deep": b"[" * 5000 + b"]" * 5000,
    "alias bomb": ALIAS_BOMB.encode(),
    "yaml nan": b"id: x\nevents: [.nan, .inf]\n",
    "markup": b"id: '[/]'\ntitle: '[bold red]x'\n",
    "null bytes": b"\x00\x00{}",
}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HEALER_STORE_PATH", str(tmp_path / "healer.db"))
    monkeypatch.setenv("HEALER_APPROVERS", '["U024BE7LH"]')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def commands(path: Path) -> list[list[str]]:
    """Every command that reads a file or an id the user gives."""
    return [
        ["run", "--sandbox", "dev-disk-full-web", "--events", str(path)],
        ["ingest", str(path), "--sandbox", "dev-disk-full-web"],
        ["replay", str(path)],
        ["demo", "--case", str(path)],
        ["eval", "--cases", str(path.parent), "--thresholds", str(path)],
        ["kb", "eval", "--queries", str(path)],
        ["eval", "--suite", "sequence", "--cases", str(path)],
    ]


def assert_clean(args: list[str], tmp_path: Path) -> None:
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output, (args, result.output)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
    else:
        assert result.exit_code in (0, 1), (args, result.exit_code, result.output)
    db = tmp_path / "healer.db"
    if db.exists():
        for incident in SqliteStore(db).list(-1):
            assert incident.step in (Step.DONE, Step.AWAIT_APPROVAL, Step.INVESTIGATE), incident


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_corpus_of_bad_files_gets_one_line_from_every_command(env: Path, name: str) -> None:
    path = env / "bad-input.yaml"
    path.write_bytes(CORPUS[name])
    for args in commands(path):
        assert_clean(args, env)


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["incidents", "show", "inc-none"], "no incident inc-none"),
        (["approve", "", "--as", "U1"], "no incident"),
        (["incidents", "close", "[/]", "--reason", "x"], "no incident [/]"),
        (["incidents", "resume", "inc-"], "no incident inc-"),
        (["audit", "verify", "nope"], "no incident nope"),
        (["events", "--limit", "0"], "--limit"),
        (["kb", "search", "disk", "--backend", "bedrock"], "HEALER_KB_ID"),
        (["demo", "--model", "nosuch:model"], "nosuch"),
        (["eval", "--suite", "purple"], "unknown suite"),
    ],
)
def test_a_bad_id_or_option_is_one_line_naming_it(env: Path, args: list[str], names: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert names in result.stderr, result.stderr
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=12,
        ).map(lambda value: json.dumps(value).encode()),
    )
)
def test_fuzzed_files_never_end_in_a_traceback(env: Path, content: bytes) -> None:
    path = env / "fuzzed.yaml"
    path.write_bytes(content)
    for args in commands(path)[2:]:  # the commands that refuse a file before any sandbox
        assert_clean(args, env)
    assert_clean(["ingest", str(path), "--sandbox", "dev-disk-full-web"], env)


@pytest.mark.parametrize(
    ("toml", "environ", "said"),
    [
        (
            'approvers = ["U1"]\napprovel_ttl = 3\n',
            {},
            "healer.toml: unknown setting 'approvel_ttl'",
        ),
        ("approvers = [\n", {}, "healer.toml: not TOML"),
        ("", {"HEALER_APPROVAL_TTL_MINUTES": "-1"}, "HEALER_APPROVAL_TTL_MINUTES"),
        ("", {"HEALER_MIN_CONFIDENCE": "nan"}, "HEALER_MIN_CONFIDENCE"),
        ("approval_threshold_usd = -5\n", {}, "approval_threshold_usd"),
        ('autonomy = {reboot = "earned"}\n', {}, "not catalog actions: reboot"),
        ("", {"HEALER_AUTONOMY_DEFAULT": "sometimes"}, "HEALER_AUTONOMY_DEFAULT"),
        ('shadow_scopes = [{env = "x"}]\n', {}, "shadow_scopes"),
    ],
)
def test_a_wrong_setting_is_named(
    env: Path, monkeypatch: pytest.MonkeyPatch, toml: str, environ: dict[str, str], said: str
) -> None:
    (env / "healer.toml").write_text(toml)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)

    result = runner.invoke(app, ["incidents", "list"])

    assert result.exit_code == 2, result.output
    assert said in result.stderr and len(result.stderr.strip().splitlines()) == 1
