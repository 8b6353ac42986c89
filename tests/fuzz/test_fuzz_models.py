"""Fuzz the registry commands: `models set-alias/list-versions/show/previous` (SQLite world).

A real MLflow store holds one model with three versions (binary, binary, focal; champion on
3). Names, aliases (MLflow's reserved `latest`, `v1`), versions (0, negative, beyond 32 bits),
reasons and `--max-results` are fuzzed; the registry's aliases are part of the "nothing
changed" snapshot, so a refused move must not have moved anything.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fuzz_strategies import Opt, any_command, hostile_number, hostile_text
from fuzz_support import World, fuzz_settings
from hypothesis import example, given
from hypothesis import strategies as st
from mlflow import MlflowClient

from cvntrade.strategy import DEFAULT_STRATEGY, model_name

NAME = model_name("BTCUSDC", DEFAULT_STRATEGY)
names = st.one_of(st.sampled_from([NAME.lower(), "nope", f"{NAME} ", ""]), hostile_text)
aliases = st.one_of(
    st.sampled_from(["latest", "v1", "V2", "", "champion ", "a" * 300]), hostile_text
)
NAME_OPT = Opt("--name", st.just(NAME), names, required=True)
COMMANDS = (
    (
        ("models", "set-alias"),
        (
            NAME_OPT,
            Opt("--alias", st.sampled_from(["champion", "challenger"]), aliases, required=True),
            Opt("--version", st.sampled_from(["1", "2", "3"]), hostile_number, required=True),
            Opt("--reason", st.just("fuzz rollback"), hostile_text, required=True),
            Opt("--actor", st.just("alice"), hostile_text),
        ),
    ),
    (
        ("models", "list-versions"),
        (
            NAME_OPT,
            Opt("--order-by", st.just("version_number DESC"), hostile_text),
            Opt("--max-results", st.sampled_from(["1", "5"]), hostile_number),
        ),
    ),
    (("models", "show"), (Opt(None, st.just(NAME), names, required=True),)),
    (
        ("models", "previous"),
        (
            Opt(None, st.just(NAME), names, required=True),
            Opt("--before", st.sampled_from(["2", "3"]), hostile_number),
        ),
    ),
)


@pytest.fixture
def registry_world(sqlite_world: World, mlflow_template: Path) -> World:
    """The world plus an MLflow store with NAME v1-v3 (binary, binary, focal), champion v3."""
    store = sqlite_world.home / "mlflow.db"
    shutil.copy(mlflow_template, store)
    uri = f"sqlite:///{store}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(NAME)
    for loss in ("binary", "binary", "focal"):
        client.create_model_version(NAME, source=str(store.parent), tags={"loss_function": loss})
    client.set_registered_model_alias(NAME, "champion", "3")
    sqlite_world.extra_state.append(lambda: dict(client.get_registered_model(NAME).aliases))
    return sqlite_world


@fuzz_settings(40)
@given(args=any_command(COMMANDS))
@example(args=["models", "previous", NAME, "--before", "99999999999999999999"])
@example(args=["models", "list-versions", "--name", NAME, "--max-results", "99999999999999999999"])
@example(args=["models", "list-versions", "--name", NAME, "--max-results", "-1"])
@example(
    args=[
        "models",
        "set-alias",
        "--name",
        NAME,
        "--alias",
        "latest",
        "--version",
        "1",
        "--reason",
        "r",
    ]
)
def test_registry_commands(registry_world: World, args: list[str]) -> None:
    registry_world.run(*args)
