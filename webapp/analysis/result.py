from dataclasses import dataclass, field


@dataclass
class Segment:
    start: float
    end: float
    text: str
    speaker: str | None = None
    # the speech engine's own signals, where it gives them (faster-whisper does)
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    compression_ratio: float | None = None

    def to_dict(self):
        data = {"start": round(self.start, 2), "end": round(self.end, 2), "text": self.text}
        if self.speaker:
            data["speaker"] = self.speaker
        return data


@dataclass
class Transcript:
    text: str
    segments: list[Segment]
    language: str | None
    engine: str
    model: str | None = None
    stats: dict = field(default_factory=dict)  # engine facts: model loads, load time


@dataclass
class Analysis:
    """What analysing one recording produced: the record of the call, before filing."""

    transcript: Transcript
    duration: float | None
    scores: dict | None = None
    overall_score: float | None = None
    metrics: dict | None = None
    timings: dict = field(default_factory=dict)
    metadata: dict | None = None  # customer/agent facts delivered with the recording
    notes: list = field(default_factory=list)  # things to record on the file's event log
    redactions: dict | None = None  # personal data replaced, per kind ({"phone": 2}); None: not redacted
    redacted_spans: list | None = None  # [[start, end]] seconds of the recording silenced for viewers
    quality: str | None = None  # analysis.quality verdict: "ok" | "needs_review"
    quality_reasons: list = field(default_factory=list)
