"""The course view (issue 9): sessions done and planned, spacing warnings, induction progress,
outcome scores with response/remission, and small plots across the course.

All figures come from ketadesk.core.course via the patient store; plots use the day of the
course (0 = first session done) on x, so spacing is visible. Outcome scores are entered here;
the store refuses bad totals or future dates and the message is shown.
"""

from __future__ import annotations

from datetime import date

import pyqtgraph as pg
from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ketadesk.core.course import (
    SCALE_NAMES,
    CourseSummary,
    OutcomeScale,
    SessionStatus,
    describe_outcome,
)
from ketadesk.store.patients import PatientStore, PatientStoreError
from ketadesk.ui.dialogs.common import DIALOG_STYLE, MessageLine, format_dose

SESSION_COLUMNS = ("#", "date", "status", "dose mg/kg", "peak BP", "peak CADSS", "pauses",
                   "alarms", "adverse events")
OUTCOME_COLUMNS = ("date", "scale", "total", "vs baseline")


class CourseView(QWidget):
    def __init__(self, store: PatientStore, patient_id: str, who: str = "",
                 today: date | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet(DIALOG_STYLE)
        self.store = store
        self.patient_id = patient_id
        self.who = who
        self.today = today or date.today()
        self.summary: CourseSummary | None = None

        self.progress = QLabel()
        self.progress.setWordWrap(True)
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #ffb454;")
        self.sessions = QTableWidget(0, len(SESSION_COLUMNS))
        self.sessions.setHorizontalHeaderLabels(list(SESSION_COLUMNS))
        self.sessions.verticalHeader().setVisible(False)
        self.sessions.setMinimumHeight(190)  # six rows of an induction course
        self.outcomes = QTableWidget(0, len(OUTCOME_COLUMNS))
        self.outcomes.setHorizontalHeaderLabels(list(OUTCOME_COLUMNS))
        self.outcomes.verticalHeader().setVisible(False)
        self.outcomes.horizontalHeader().setStretchLastSection(True)

        self.plots: dict[str, pg.PlotWidget] = {}
        grid = QGridLayout()
        for i, (key, title) in enumerate((("dose", "dose mg/kg"), ("sys", "peak SBP mmHg"),
                                          ("cadss", "peak CADSS"), ("outcome", "outcome score"))):
            w = pg.PlotWidget(title=title)
            w.setMinimumHeight(120)
            w.showGrid(x=True, y=True, alpha=0.2)
            w.setLabel("bottom", "day of course")
            if key == "outcome":
                w.addLegend(offset=(-5, 5))  # top right: scores fall, so it is clear
            self.plots[key] = w
            grid.addWidget(w, i // 2, i % 2)

        entry = QHBoxLayout()
        self.scale = QComboBox()
        for s in OutcomeScale:
            self.scale.addItem(SCALE_NAMES[s], s.value)
        self.total = QSpinBox(minimum=0, maximum=99)
        self.score_date = QDateEdit(QDate(self.today.year, self.today.month, self.today.day))
        self.score_date.setCalendarPopup(True)
        self.score_date.setDisplayFormat("yyyy-MM-dd")
        self.add_button = QPushButton("&Add score")
        self.add_button.clicked.connect(self.add_score)
        for w2 in (QLabel("Outcome"), self.scale, QLabel("total"), self.total, QLabel("date"),
                   self.score_date, self.add_button):
            entry.addWidget(w2)
        entry.addStretch(1)
        self.message = MessageLine()

        lay = QVBoxLayout(self)
        lay.addWidget(self.progress)
        lay.addWidget(self.warnings)
        lay.addWidget(self.sessions, 2)
        lay.addLayout(grid, 3)
        lay.addWidget(self.outcomes, 2)
        lay.addLayout(entry)
        lay.addWidget(self.message)
        self.reload()

    def reload(self) -> None:
        s = self.store.course(self.patient_id, self.today)
        self.summary = s
        self.progress.setText(f"Patient {self.patient_id} — {s.progress.message}")
        self.warnings.setText("\n".join(f"⚠ {w.message}" for w in s.warnings))
        self._fill_sessions(s)
        self._fill_outcomes(s)
        self._plot(s)

    def _fill_sessions(self, s: CourseSummary) -> None:
        self.sessions.setRowCount(len(s.sessions))
        for r, row in enumerate(s.sessions):
            bp = ("" if row.peak_sys_mmhg is None
                  else f"{row.peak_sys_mmhg:.0f}/{_n(row.peak_dia_mmhg)}")
            values = (str(r + 1), row.on.isoformat(),
                      row.status.value + (" (stopped early)" if row.stopped_early else ""),
                      "" if row.dose_mg_per_kg is None else format_dose(row.dose_mg_per_kg), bp,
                      "" if row.peak_cadss is None else f"{row.peak_cadss:g}",
                      ", ".join(row.pause_reasons) or ("0" if row.status is SessionStatus.DONE
                                                       else ""),
                      str(row.alarms) if row.status is SessionStatus.DONE else "",
                      ", ".join(row.adverse_events))
            for c, v in enumerate(values):
                self.sessions.setItem(r, c, QTableWidgetItem(v))
        self.sessions.resizeColumnsToContents()

    def _fill_outcomes(self, s: CourseSummary) -> None:
        rows = sorted((st for v in s.outcomes.values() for st in v), key=lambda st: st.score.on)
        self.outcomes.setRowCount(len(rows))
        for r, st in enumerate(rows):
            text = describe_outcome(st)
            detail = text.split(": ", 1)[1] if ": " in text else text
            values = (st.score.on.isoformat(), SCALE_NAMES[st.score.scale], str(st.score.total),
                      detail)
            for c, v in enumerate(values):
                self.outcomes.setItem(r, c, QTableWidgetItem(v))
        self.outcomes.resizeColumnsToContents()

    def _plot(self, s: CourseSummary) -> None:
        first = s.progress.first_day
        done = [r for r in s.sessions if r.status is SessionStatus.DONE]
        origin = first or (done[0].on if done else self.today)

        def day(d: date) -> float:
            return float((d - origin).days)

        for w in self.plots.values():
            w.clear()
        for key, attr in (("dose", "dose_mg_per_kg"), ("sys", "peak_sys_mmhg"),
                          ("cadss", "peak_cadss")):
            pts = [(day(r.on), getattr(r, attr)) for r in done if getattr(r, attr) is not None]
            if pts:
                x, y = zip(*pts, strict=True)
                self.plots[key].plot(list(x), list(y), pen=pg.mkPen("#7fd1ff", width=2),
                                     symbol="o", symbolSize=7, symbolBrush="#7fd1ff")
        colours = {OutcomeScale.MADRS: "#ffd866", OutcomeScale.PHQ9: "#c792ea"}
        for scale, rows in s.outcomes.items():
            x2 = [day(st.score.on) for st in rows]
            y2 = [float(st.score.total) for st in rows]
            self.plots["outcome"].plot(x2, y2, pen=pg.mkPen(colours[scale], width=2), symbol="s",
                                       symbolSize=7, symbolBrush=colours[scale],
                                       name=SCALE_NAMES[scale])

    def add_score(self) -> None:
        scale = OutcomeScale(self.scale.currentData())
        q = self.score_date.date()
        on = date(q.year(), q.month(), q.day())
        try:
            self.store.add_outcome(self.patient_id, scale, self.total.value(), on, self.who,
                                   today=self.today)
        except PatientStoreError as exc:
            self.message.show_error(str(exc))
            return
        self.message.show_error("")
        self.reload()


class CourseDialog(QDialog):
    """The course view in a window of its own (e.g. from the Session menu)."""

    def __init__(self, store: PatientStore, patient_id: str, who: str = "",
                 today: date | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Course — {patient_id}")
        self.view = CourseView(store, patient_id, who, today, self)
        lay = QVBoxLayout(self)
        lay.addWidget(self.view)
        self.resize(960, 840)  # room for the four plots; fits a 900 px screen


def _n(x: float | None) -> str:
    return "?" if x is None else f"{x:.0f}"
