"""Neural networks: time per epoch in the window (live curve on) against a plain torch loop, and the GUI
heartbeat while a network trains.

The plain loop is what a person writes by hand: the same prepared features as float32 tensors on the device once,
the same network (``build_network`` with the same settings and seed), Adam, a shuffled index per epoch, slices of
it as batches, ``loss.backward()`` and ``step()``; no validation, no reporting, no cancel checks. Studio's side is
the real window: ``TrainPanel.start`` with the Train page shown, the live curve repainting, the validation loss and
metric computed each epoch, the smoothed batch loss reported every 0.1 s and ``should_stop`` asked before every
batch. Per-epoch time is taken between the first and the last epoch point seen by the window, so the start-up
(preparation, building the network) is left out on both sides.

Small networks train on one CPU thread in Studio (see ``ONE_THREAD_WORK`` in studio.core.models.torch.loop); the
plain loop is timed both with torch's default thread count and with one thread, and the ratio is against the faster.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from studio.core.data.profile import profile_frame
from studio.core.data.tabular import LoadedTable
from studio.core.project import Step
from studio.ui.main_window import MainWindow

from .bench import classification_frame, median, report
from .network_bench import EPOCHS, SETTINGS, TARGET, plain_loop, prepared
from .test_gui_heartbeat import SLOW_GAP_S, TICK_MS, Heartbeat

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.perf

ROWS = 50_000
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA"))]


def studio_in_window(qtbot, window: MainWindow, frame: pd.DataFrame, device: str,
                     heartbeat: Heartbeat | None = None) -> tuple[float, float, tuple[float, float]]:
    """Seconds per epoch, the whole run's seconds, and when the first and last epoch points arrived, training in
    the window with the Train page shown."""
    project = window.project
    project.set_model(project.model.__class__("neural_network", tuple(sorted({**SETTINGS, "device": device}
                                                                             .items()))))
    assert window.go_to(Step.TRAIN)
    panel = window.train_panel
    epoch_times: list[float] = []

    def on_progress(item: object) -> None:
        if type(item.curve).__name__ == "EpochPoint":  # type: ignore[attr-defined]
            epoch_times.append(time.perf_counter())

    finished: list[float] = []
    panel.runner.progressed.connect(on_progress)
    panel.training_finished.connect(lambda: finished.append(time.perf_counter()))
    if heartbeat is not None:
        heartbeat.start()
    started = time.perf_counter()
    assert panel.start()
    qtbot.waitUntil(lambda: bool(finished), timeout=600_000)
    panel.runner.progressed.disconnect(on_progress)
    assert len(epoch_times) == EPOCHS and panel.plot.point_count() == EPOCHS
    assert panel.plot.batch_point_count() > 0  # the live per-batch curve was on
    return (epoch_times[-1] - epoch_times[0]) / (EPOCHS - 1), finished[0] - started, (epoch_times[0],
                                                                                       epoch_times[-1])


def load_into(window: MainWindow, frame: pd.DataFrame, tmp_path) -> None:
    project = window.project
    project.set_table(LoadedTable(frame, str(tmp_path / "customers.csv"), None, None))
    project.set_profiles(profile_frame(frame))
    project.set_target(TARGET)


@pytest.mark.parametrize("device", DEVICES)
def test_network_epoch_time_against_a_plain_loop(qtbot, window: MainWindow, tmp_path, device: str) -> None:
    frame = classification_frame(ROWS)
    x, y = prepared(frame)
    load_into(window, frame, tmp_path)
    # Warm up both sides (imports, allocator, kernels), then interleave two rounds.
    plain_loop(x[:2000], y[:2000], device, 1)
    studio_rounds, plain_default, plain_one = [], [], []
    for _ in range(2):
        plain_default.append(plain_loop(x, y, device, torch.get_num_threads()))
        plain_one.append(plain_loop(x, y, device, 1))
        studio_rounds.append(studio_in_window(qtbot, window, frame, device)[0])
    plain = min(median(plain_default), median(plain_one))
    studio = median(studio_rounds)
    result = window.project.result
    assert result is not None and result.pipeline[-1].device_used_.startswith(device)
    report(f"network_epoch_time[{device}]", "studio at most 1.10x the plain loop per epoch",
           rows=str(ROWS), train_rows=str(len(y)), batches_per_epoch=str(-(-len(y) // 64)),
           studio_epoch_s=studio, plain_epoch_s=plain, ratio=studio / plain,
           plain_default_threads_s=median(plain_default), plain_one_thread_s=median(plain_one),
           default_threads=str(torch.get_num_threads()),
           rounds="/".join(f"{s / plain:.2f}" for s in studio_rounds),
           test_acc=float(result.test.get("accuracy") or 0.0))


def test_gui_heartbeat_while_a_network_trains(qtbot, window: MainWindow, tmp_path) -> None:
    frame = classification_frame(ROWS)
    load_into(window, frame, tmp_path)
    heartbeat = Heartbeat(window.train_panel.stage_label.text)
    assert window.go_to(Step.TRAIN)
    heartbeat.start()
    qtbot.wait(2_000)
    idle_gaps, _ = heartbeat.stop()
    per_epoch, seconds, (first_epoch, last_epoch) = studio_in_window(qtbot, window, frame, "cpu", heartbeat)
    busy_gaps, worst_stage = heartbeat.stop()
    # The same gaps, only those that ended while epochs were running (not during preparation or the result's
    # arrival, when other pages do their work on the GUI thread).
    ticks = np.array([t for t, _ in heartbeat.ticks])
    during = (ticks[1:] > first_epoch) & (ticks[1:] <= last_epoch)
    epoch_gaps = busy_gaps[during] if during.any() else np.zeros(1)
    report("network_gui_heartbeat", "max gap under 100 ms while a network trains",
           rows=str(ROWS), train_s=seconds, epoch_s=per_epoch, max_gap_ms=float(busy_gaps.max()),
           p99_gap_ms=float(np.percentile(busy_gaps, 99)), gaps_over_100ms=str(int((busy_gaps > 100).sum())),
           epochs_max_gap_ms=float(epoch_gaps.max()), epochs_p99_gap_ms=float(np.percentile(epoch_gaps, 99)),
           idle_max_gap_ms=float(idle_gaps.max()), ticks=str(len(busy_gaps)), worst_gap_during=repr(worst_stage))
    for place, count in heartbeat.culprits.most_common(6):
        print(f"  {count:4d} gaps over {SLOW_GAP_S * 1000:.0f} ms ended with another thread at: {place}")
    assert len(busy_gaps) > seconds * 1000 / TICK_MS / 10
