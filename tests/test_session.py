"""The session's side of reattaching: what a visitor is told when the runs their browser had are gone."""
from explorer import Run, RunConfig
from explorer.ui import browser, session
from explorer.ui.slot import Job, Slot
from explorer.ui.browser import Browser
from explorer.ui.parking import Parking
from explorer.ui.pool import TrainerPool
from explorer.ui.worker import Worker
from tests.test_parking import opened, wait_for


def test_a_visit_after_the_run_expired_names_the_run_and_why(monkeypatch):
    parking = Parking(keep_s=0.1, max_parked=8)
    monkeypatch.setattr(session, "PARKING", parking)
    parking.let_go(opened(parking, "me"))
    assert wait_for(lambda: parking.parked == 0)
    note = session._gone_note(Browser("me", browser.BOOT))
    assert "LSTM on adding at step 229" in note and "no page had it open" in note
    assert session._gone_note(Browser("me", "")) == ""  # told once; a browser that says it had none hears nothing


def test_a_visit_after_a_server_restart_says_the_server_restarted(monkeypatch):
    monkeypatch.setattr(session, "PARKING", Parking(keep_s=60, max_parked=8))
    note = session._gone_note(Browser("me", "0123456789abcdef"))  # runs held by another server process
    assert "server restarted" in note


def test_a_second_tab_hears_that_another_tab_has_the_run(monkeypatch):
    parking = Parking(keep_s=60, max_parked=8)
    monkeypatch.setattr(session, "PARKING", parking)
    opened(parking, "me")
    note = session._gone_note(Browser("me", browser.BOOT))
    assert "Another tab of this browser has a run open (LSTM on adding at step 229)" in note
    assert session._gone_note(Browser("new", "")) == ""


def test_a_slot_says_what_would_be_lost():
    slot = Slot("me")
    config = RunConfig(arch="gru", seq_len=10, hidden_size=8, batch_size=8)
    worker = slot.replace(Worker([Run(config)], pool=TrainerPool(1)), ((config,), None))
    assert slot.summary() == ""  # a run at step 0 is nothing to lose
    worker.step()
    assert wait_for(lambda: worker.snapshot.state == "paused", timeout=30)
    race = Worker([Run(config)], pool=TrainerPool(1))
    slot.race = Job(race, ((config,), 50), (config,))
    assert slot.summary() == "GRU on adding at step 1; the Compare race"
    slot.close()
    assert worker.snapshot.state == "stopped" and race.snapshot.state == "stopped"
