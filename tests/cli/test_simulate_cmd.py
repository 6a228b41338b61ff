"""`ketadesk simulate` and `ketadesk scenarios`: whole simulated sessions, headless, recorded."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from ketadesk.cli import main
from ketadesk.sources.simulator.scenario import scenario_names
from ketadesk.store.reader import Recording, open_recording

WEIGHT = {"hypertensive_surge": "84", "severe_hypertension_symptoms": "84",
          "emergence_reaction": "62", "tachycardia": "58"}


@cache
def simulated(scenario: str, root: Path) -> tuple[Path, float]:
    out = root / f"{scenario}.kdrec"
    t0 = time.perf_counter()
    assert main(["simulate", "--scenario", scenario, "--weight", WEIGHT.get(scenario, "70"),
                 "--dose", "0.5", "--speed", "max", "--out", str(out)]) == 0
    return out, time.perf_counter() - t0


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim")


def raised(rec: Recording) -> list[tuple[str, str]]:
    return [(e.data.get("alarm_id", ""), e.detail) for e in rec.events()
            if e.kind == "alarm" and e.data.get("state") == "raised"]


def messages(rec: Recording) -> list[str]:
    return [" ".join(e.detail.split()) for e in rec.events() if e.kind == "source"]


def phases(rec: Recording) -> list[tuple[str, str]]:
    return [(str(e.data["to"]), e.who) for e in rec.events() if e.kind == "phase"]


def test_scenarios_lists_every_scenario_with_objectives(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    for name in scenario_names():
        assert f"\n{name}: " in f"\n{out}"
    assert "Respond to a desaturation alarm" in out


def _check_normal(rec: Recording) -> None:
    assert not [a for a in rec.alarms() if a.priority == "high"]
    assert [s.total for s in rec.scale_entries()] == [10]


def _check_hypertensive_surge(rec: Recording) -> None:
    assert any(a.channel == "nibp_sys" and a.state == "raised" for a in rec.alarms())
    pause = next(e for e in rec.events() if e.kind == "phase" and e.data["to"] == "PAUSED")
    assert pause.who == "SCRIPT" and pause.data["reason"] == "hypertension"


def _check_severe_hypertension_symptoms(rec: Recording) -> None:
    assert any(a.channel == "nibp_sys" and a.state == "raised" for a in rec.alarms())
    assert "message: patient: headache" in messages(rec)
    assert ("STOPPED_EARLY", "SCRIPT") in phases(rec)


def _check_desaturation_hypoventilation(rec: Recording) -> None:
    spo2 = rec.numeric("spo2").values
    assert np.nanmin(spo2[spo2 > 0]) < 90
    assert any(a.channel == "spo2" and a.state == "raised" for a in rec.alarms())


def _check_tachycardia(rec: Recording) -> None:
    assert np.nanmax(rec.numeric("hr").values) > 130
    assert any(a.channel == "hr" and a.state == "raised" for a in rec.alarms())


def _check_spo2_probe_off(rec: Recording) -> None:
    assert "probe_off: spo2" in messages(rec)
    assert any(i == "tech.probe_off.spo2" for i, _ in raised(rec))
    assert not any(a.channel == "spo2" and a.priority != "low" and "low" in a.message.lower()
                   and a.state == "raised" for a in rec.alarms())


def _check_ecg_leads_off(rec: Recording) -> None:
    assert messages(rec).count("leads_off: ecg_ii") == 2
    assert any(i.startswith("tech.leads_off") for i, _ in raised(rec))


def _check_source_stall(rec: Recording) -> None:
    t = rec.numeric("hr").t_s
    assert np.max(np.diff(t)) >= 45
    assert any(i.startswith("tech.no_data") for i, _ in raised(rec))


def _check_nausea_vomiting(rec: Recording) -> None:
    assert "message: patient: nausea" in messages(rec)
    assert "message: patient: vomiting" in messages(rec)
    assert np.nanmax(rec.numeric("hr").values) >= 85


def _check_emergence_reaction(rec: Recording) -> None:
    assert "message: patient: agitation" in messages(rec)
    assert [s.total for s in rec.scale_entries()] == [33]


CHECKS = {name[len("_check_"):]: fn for name, fn in globals().items()
          if name.startswith("_check_")}


def test_every_shipped_scenario_has_a_check() -> None:
    assert set(CHECKS) == set(scenario_names())


@pytest.mark.parametrize("scenario", scenario_names())
def test_every_scenario_runs_end_to_end_and_produces_its_event(scenario: str,
                                                              root: Path) -> None:
    out, took_s = simulated(scenario, root)
    with open_recording(out) as rec:
        assert rec.meta.provenance.value == "simulated"
        assert rec.meta.config["provenance"] == "simulated"
        assert rec.meta.config["scenario"] == scenario
        assert rec.status.value == "closed"
        seen = [to for to, _ in phases(rec)]
        assert seen[0] == "INFUSING" and seen[-1] == "ENDED" and "RECOVERY" in seen
        ended = next(e.t_s for e in rec.events() if e.kind == "phase"
                     and e.data["to"] in ("COMPLETE", "STOPPED_EARLY"))
        assert rec.duration_s >= ended + 60 * 60 - 1  # the whole hour of recovery
        CHECKS[scenario](rec)
    assert took_s < 30  # 110 simulated minutes: a few seconds on an idle machine


def test_the_same_seed_gives_the_same_recording(tmp_path: Path) -> None:
    def run(name: str, seed: str) -> dict[str, np.ndarray]:
        out = tmp_path / name
        assert main(["simulate", "--scenario", "tachycardia", "--weight", "58", "--dose", "0.5",
                     "--seed", seed, "--baseline-minutes", "2", "--recovery-minutes", "1",
                     "--duration-minutes", "20",
                     "--out", str(out)]) == 0
        with open_recording(out) as rec:
            return {ch: np.column_stack(rec.numeric(ch)) for ch in rec.numeric_channels()}

    a, b, c = run("a.kdrec", "4"), run("b.kdrec", "4"), run("c.kdrec", "5")
    assert a.keys() == b.keys() and len(a["hr"]) > 1300
    for ch in a:
        np.testing.assert_array_equal(a[ch], b[ch])
    assert not np.array_equal(a["hr"], c["hr"])


@pytest.mark.parametrize("argv, says", [
    (["--scenario", "nope"], "available: "),
    (["--weight", "20"], "not allowed"),
    (["--speed", "500"], "allowed: a number from 1 to 60 or 'max'"),
    (["--baseline-minutes", "-1"], "--baseline-minutes must be a number from 0"),
    (["--seed", "-3"], "--seed must be"),
    (["--pk-model", "x"], "pk_model must be one of clements, domino"),
])
def test_bad_arguments_exit_2_saying_what_is_allowed(
        argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = {"--weight": "70", "--dose": "0.5", "--out": str(tmp_path / "x.kdrec")}
    for k, v in zip(argv[::2], argv[1::2], strict=True):
        base[k] = v
    args = ["simulate", *[x for kv in base.items() for x in kv]]
    assert main(args) == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "x.kdrec").exists()


def test_an_existing_file_is_never_overwritten(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.kdrec"
    out.write_text("keep")
    assert main(["simulate", "--weight", "70", "--dose", "0.5", "--out", str(out)]) == 2
    assert "exists already" in capsys.readouterr().err and out.read_text() == "keep"
