from dataclasses import dataclass, field


@dataclass
class Segment:
    start: float
    end: float
    text: str
    speaker: str | None = None

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


@dataclass
class Analysis:
    """What analysing one recording produced: the record of the call, before filing."""

    transcript: Transcript
    duration: float | None
    scores: dict | None = None
    overall_score: float | None = None
    metrics: dict | None = None
    timings: dict = field(default_factory=dict)
