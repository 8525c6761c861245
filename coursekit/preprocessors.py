"""The grader's nbgrader preprocessors: execution with limits and observations, and the judge.

nbgrader's ``autograde`` runs a list of preprocessors on the submitted notebook, in the grader's
own process. The course replaces its ``Execute`` with :class:`GuardedExecute` and puts
:class:`Judge` right after it (``coursekit.worker.autograde_preprocessors``); everything else is
nbgrader's own list. ``exercises/nbgrader_config.py`` adds ``coursekit.overwrite.OverwriteCells``
to the sanitizing list.

- :class:`GuardedExecute` runs each test cell as :func:`coursekit.judge.judged_source` rewrites
  it (no reference, no expected value), takes the observations the cell hands out of its
  outputs (checked and size-capped on arrival), and keeps the submission within its wall
  clock and output bytes.
- :class:`Judge` decides every test cell from those observations and the expected values of
  the reference run (:mod:`coursekit.judge`), and writes the verdict as the cell's only error
  output (none when it passes), so nbgrader's own ``SaveAutoGrades`` scores the verdict and
  nothing the submission's process printed or raised.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Float, Integer, Unicode, default

from coursekit import judge
from coursekit.cells import grade_id, is_test
from vgcourse.grading import OBSERVATION_MIME

STOPPED = "SubmissionStopped"
#: The error output's name of a test cell the judge failed.
FAILED = "TestFailed"
#: Where GuardedExecute leaves its observations for the Judge, in nbconvert's resources.
RESOURCES_KEY = "coursekit_observations"


class GuardedExecute(Execute):
    """nbgrader's ``Execute``, running the judged form of the test cells, with the limits of
    :class:`coursekit.sandbox.Limits` that a cell timeout does not give.

    - Test cells run as :func:`coursekit.judge.judged_source` gives them (``mode`` ``record``);
      in the reference run of the instructor's solution (``mode`` ``reference``) they run whole.
    - Observation messages (``vgcourse.grading.OBSERVATION_MIME``) are taken out of the outputs,
      checked (:func:`coursekit.judge.accept`) and kept per test cell, at most
      :data:`coursekit.judge.MAX_OBSERVATIONS_PER_CELL` a cell and
      :data:`coursekit.judge.MAX_OBSERVATION_BYTES_PER_SUBMISSION` bytes in all.
    - The whole submission gets ``wall_s`` seconds: each cell's timeout is at most what is left.
    - Text kept of one cell's outputs, and of all of them, is capped in bytes (``LimitOutput``
      counts lines, and a 50 MB single line is one line).
    - When the kernel dies (memory limit, segfault, ``os.kill``) or the clock runs out, every
      cell not run yet gets a ``SubmissionStopped`` error output naming why.
    What happened is written as JSON lines to ``report`` for the trusted grader.
    """

    mode = Unicode("record").tag(config=True)
    #: Seconds to wait for a cell's output after its reply (nbclient's default, 4 s, is short on
    #: a loaded machine; a refused message is only noticed when it runs out).
    iopub_timeout = Integer(30).tag(config=True)
    wall_s = Float(600.0).tag(config=True)
    cell_output_bytes = Integer(256 * 1024).tag(config=True)
    notebook_output_bytes = Integer(2 * 1024 * 1024).tag(config=True)
    report = Unicode("").tag(config=True)

    @default("shutdown_kernel")
    def _kill_the_kernel(self) -> str:
        """The kernel is killed when the notebook is done, not asked to stop: nothing of it is
        kept, and no code of the submission runs after its last cell (nbclient's default,
        ``graceful``, waits for the kernel to finish its own shutdown)."""
        return "immediate"

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.wall_s
        self._stopped = ""
        self._bytes: dict[int, int] = {}
        self._truncated: set[int] = set()
        self._labels: dict[int, str] = {}
        self._observed: dict[str, list[judge.Observation]] = {}
        self._refused: dict[str, str] = {}
        self._observed_bytes = 0
        resources = resources if resources is not None else {}
        nb, resources = super().preprocess(nb, resources, km)
        resources[RESOURCES_KEY] = {"observed": self._observed, "refused": self._refused}
        return nb, resources

    def _event(self, **event) -> None:
        if self.report:
            with open(self.report, "a", encoding="utf-8") as f:
                f.write(json.dumps(event) + "\n")

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        left = max(1, math.ceil(self._deadline - time.monotonic()))
        return left if timeout is None else min(timeout, left)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if not self._stopped and time.monotonic() >= self._deadline:
            self._stop(f"the submission ran past its wall clock of {self.wall_s:g} s")
        if self._stopped:
            cell.outputs = [self._stopped_output()]
            return cell, resources
        label = grade_id(cell) if is_test(cell) else None
        if label:
            self._labels[index] = label
            self._observed[label] = []
        original = cell.source
        if label and self.mode == "record":
            cell.source = judge.judged_source(original)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._stop(f"the kernel died while running {label or f'cell {index}'}")
            cell.outputs.append(self._stopped_output())
        except CellTimeoutError:  # the reply came, its output did not: a message was refused
            self._stop(f"the kernel sent a message over the grader's size limit while running "
                       f"{label or f'cell {index}'} (or its output stopped arriving); the "
                       "submission was stopped there")
            cell.outputs.append(self._stopped_output())
        finally:
            cell.source = original
        if not self._stopped and time.monotonic() >= self._deadline - 1.0:  # cut at the clock
            self._stop(f"the submission ran past its wall clock of {self.wall_s:g} s")
        return cell, resources

    def _stop(self, why: str) -> None:
        self._stopped = why
        self._event(kind="stopped", reason=why)

    def _stopped_output(self) -> NotebookNode:
        return NotebookNode(output_type="error", ename=STOPPED, evalue=self._stopped,
                            traceback=[f"{STOPPED}: {self._stopped}"])

    def _take_observation(self, content: dict, cell_index: int, size: int) -> None:
        """Keep an observation of a test cell, or the reason it was refused. Observations
        outside test cells (an answer cell calling ``observe``) count for nothing."""
        label = self._labels.get(cell_index)
        if label is None or label in self._refused:
            return
        kept = self._observed[label]
        self._observed_bytes += size
        if self._observed_bytes > judge.MAX_OBSERVATION_BYTES_PER_SUBMISSION:
            self._refused[label] = (f"the submission handed out more than "
                                    f"{judge.MAX_OBSERVATION_BYTES_PER_SUBMISSION} bytes of "
                                    "observations")
        elif len(kept) >= judge.MAX_OBSERVATIONS_PER_CELL:
            self._refused[label] = (f"the test cell handed out more than "
                                    f"{judge.MAX_OBSERVATIONS_PER_CELL} observations")
        else:
            try:
                kept.append(judge.accept(content.get("data", {}).get(OBSERVATION_MIME)))
            except ValueError as err:
                self._refused[label] = f"an observation was malformed: {err}"[:300]

    def output(self, outs, msg, display_id, cell_index):
        """Take observations out; keep other outputs up to the byte caps. Errors and stderr are
        cut short, never dropped (they explain a failure)."""
        content = msg.get("content", {})
        size = len(json.dumps(content))
        if msg.get("msg_type") in ("display_data", "update_display_data") and isinstance(
                content.get("data"), dict) and OBSERVATION_MIME in content["data"]:
            self._take_observation(content, cell_index, size)
            return None
        used = self._bytes.get(cell_index, 0)
        self._bytes[cell_index] = used + size
        total = sum(self._bytes.values())
        if used + size <= self.cell_output_bytes and total <= self.notebook_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        limit = self.cell_output_bytes if used + size > self.cell_output_bytes else (
            self.notebook_output_bytes)
        where = "this cell" if limit == self.cell_output_bytes else "the notebook"
        note = f"[output truncated: more than {limit} bytes of output in {where}]"
        if msg["msg_type"] == "error":
            content["evalue"] = str(content.get("evalue", ""))[:1000]
            content["traceback"] = [str(t)[:1000] for t in content.get("traceback", [])[-20:]]
            return super().output(outs, msg, display_id, cell_index)
        stream = content.get("name") if msg["msg_type"] == "stream" else "stdout"
        if stream == "stderr" and any(o.get("name") == "stderr" for o in outs):
            return None
        if cell_index in self._truncated and stream != "stderr":
            return None
        self._truncated.add(cell_index)
        self._event(kind="output", cell=cell_index, reason=note)
        out = NotebookNode(output_type="stream", name=stream, text=note + "\n")
        outs.append(out)
        return out


def first_error(cell) -> str:
    """The first line of a cell's first error output (``ename: evalue``), or ''."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            text = f"{out.get('ename', '')}: {out.get('evalue', '')}".strip(": ")
            return (text.splitlines() or [""])[0][:300]
    return ""


class Judge(NbGraderPreprocessor):
    """Decide every test cell from its observations (see the module docstring).

    ``expected`` names the expected-values file of the assignment
    (:func:`coursekit.judge.expected_from_run`). A test cell passes when
    :func:`coursekit.judge.judge_cell` finds nothing wrong; its outputs then keep only what was
    displayed or printed to stdout. A failing cell's outputs end with one error output naming
    the first wrong or missing observation.
    """

    expected = Unicode("").tag(config=True)

    def preprocess(self, nb, resources):
        self._record = json.loads(Path(self.expected).read_text(encoding="utf-8"))["cells"]
        self._taken = resources.get(RESOURCES_KEY, {"observed": {}, "refused": {}})
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if not is_test(cell):
            return cell, resources
        label = grade_id(cell)
        stopped = first_error(cell)
        if label in self._taken["refused"]:
            verdict = self._taken["refused"][label]
        elif label not in self._record:
            verdict = "the grader has no expected values for this test (ask the instructor)"
        else:
            expected = [judge.accept(o) for o in self._record[label]]
            received = self._taken["observed"].get(label, [])
            verdict = judge.judge_cell(expected, received, stopped)
        kept = [o for o in cell.outputs if o.get("output_type") in ("display_data", "stream")
                and o.get("name", "stdout") != "stderr"]
        if verdict is not None:
            kept.append(NotebookNode(output_type="error", ename=FAILED, evalue=verdict,
                                     traceback=[f"{FAILED}: {verdict}"]))
        cell.outputs = kept
        return cell, resources
