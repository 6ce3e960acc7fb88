"""Local speech-to-text with faster-whisper (CTranslate2).

`model` is a CTranslate2 Whisper model: a directory, a name under the models folder
(`flask models install-base` puts `whisper-base` there), or a model-hub name such as
`ivrit-ai/whisper-large-v3-turbo-ct2`, downloaded once into the models folder where a hub is
reachable and `local_files_only` is off. The loaded model is kept per process and shared by
every file (and every folder using the same model settings)."""

import os
import threading
import time

from flask_babel import lazy_gettext as _l

from ... import metrics
from ...errors import ModelUnavailable, ProcessingError, technical
from ...providers.storage.base import Field
from .. import audio as channel_audio
from .. import model_files
from ..audio import SAMPLING_RATE
from ..result import Segment, Transcript

DEFAULT_MODEL = "whisper-base"
# Decoding defaults chosen by bench/decoding.py (see README, Speech engine › Decoding).
VAD_FILTER = True
COMPRESSION_RATIO = 2.4
TEMPERATURE_FALLBACK = False
HALLUCINATION_SILENCE = 0.0
FALLBACK_STEP = 0.2
DEVICES = ("cpu", "cuda", "auto")
COMPUTE_TYPES = ("int8", "int8_float32", "int8_float16", "float16", "float32", "default", "auto")
DEVICE_CHOICES = (("cpu", "CPU"), ("cuda", "CUDA (GPU)"), ("auto", _l("automatic")))
COMPUTE_CHOICES = tuple((c, c) for c in COMPUTE_TYPES[:-2]) + (
    ("default", _l("the model's own")),
    ("auto", _l("automatic")),
)

# (model path, device, compute type, threads) -> WhisperModel; one load per process.
_MODELS = {}
_LOCK = threading.Lock()
LOADS = {"count": 0, "seconds": 0.0}


class FasterWhisperTranscriber:
    type = "faster_whisper"
    label = _l("faster-whisper (local, CTranslate2)")
    fields = (
        Field(
            "model",
            _l("Model"),
            required=True,
            default=DEFAULT_MODEL,
            help=_l(
                "A CTranslate2 Whisper model: a local directory, a name in the models folder, "
                "or a hub name such as ivrit-ai/whisper-large-v3-turbo-ct2."
            ),
        ),
        Field("language", _l("Language"), default="he"),
        Field("device", _l("Device"), kind="select", default="cpu", choices=DEVICE_CHOICES),
        Field("compute_type", _l("Compute type"), kind="select", default="int8", choices=COMPUTE_CHOICES),
        Field("cpu_threads", _l("CPU threads"), kind="number", default=0, help=_l("0: CTranslate2 decides.")),
        Field("beam_size", _l("Beam size"), kind="number", default=1, help=_l("1 is greedy decoding.")),
        Field("temperature", _l("Temperature"), kind="number", default=0.0),
        Field("condition_on_previous_text", _l("Condition on previous text"), kind="bool", default=False),
        Field(
            "vad_filter",
            _l("Skip silence (VAD)"),
            kind="bool",
            default=VAD_FILTER,
            help=_l(
                "Decode only the stretches where someone speaks: noise, hold music and long "
                "silences are not given to the model to invent words for."
            ),
        ),
        Field(
            "compression_ratio_threshold",
            _l("Repetition limit"),
            kind="number",
            default=COMPRESSION_RATIO,
            help=_l(
                "A 30-s window whose text compresses better than this (zlib) is taken as a loop: "
                "with temperature fallback it is decoded again, else it is kept as it is. 0: off."
            ),
        ),
        Field(
            "temperature_fallback",
            _l("Temperature fallback"),
            kind="bool",
            default=TEMPERATURE_FALLBACK,
            help=_l(
                "Decode a window that loops or is unsure again at higher temperatures (0.2 … 1.0). "
                "Slower on hard audio."
            ),
        ),
        Field(
            "hallucination_silence_threshold",
            _l("Skip silence inside made-up text (s)"),
            kind="number",
            default=HALLUCINATION_SILENCE,
            help=_l(
                "Seconds; a made-up-looking segment next to a silence longer than this is dropped. "
                "Needs word timings (slower). 0: off."
            ),
        ),
        Field(
            "batch_size",
            _l("Batched decoding"),
            kind="number",
            default=0,
            help=_l(
                "0: sequential decoding; N > 0 decodes N speech chunks at once (implies VAD). "
                "Faster on calls longer than 30 s; each chunk costs memory (base model about "
                "70 MB, large models about 180 MB), so 4 suits a CPU."
            ),
        ),
        Field(
            "local_files_only",
            _l("Never download"),
            kind="bool",
            default=True,
            help=_l("Off lets a hub model name be downloaded into the models folder on first use."),
        ),
    )

    def __init__(self, config):
        self.model_name = config.get("model") or DEFAULT_MODEL
        self.language = config.get("language", "he") or None
        self.device = config.get("device", "cpu")
        self.compute_type = config.get("compute_type", "int8")
        self.cpu_threads = int(config.get("cpu_threads", 0))
        self.beam_size = int(config.get("beam_size", 1))
        self.temperature = float(config.get("temperature", 0.0))
        self.condition_on_previous_text = bool(config.get("condition_on_previous_text", False))
        self.vad_filter = bool(config.get("vad_filter", VAD_FILTER))
        self.compression_ratio_threshold = float(config.get("compression_ratio_threshold", COMPRESSION_RATIO))
        self.temperature_fallback = bool(config.get("temperature_fallback", TEMPERATURE_FALLBACK))
        self.hallucination_silence_threshold = float(
            config.get("hallucination_silence_threshold", HALLUCINATION_SILENCE)
        )
        self.batch_size = int(config.get("batch_size", 0))
        self.local_files_only = bool(config.get("local_files_only", True))
        self.models_dir = config.get("models_dir") or _models_dir()

    @classmethod
    def validate_config(cls, config):
        messages = []
        model = config.get("model", DEFAULT_MODEL)
        if not isinstance(model, str) or not model.strip():
            messages.append("Model: enter a model directory or name.")
        if config.get("device", "cpu") not in DEVICES:
            messages.append(f"Device: choose one of {', '.join(DEVICES)}.")
        if config.get("compute_type", "int8") not in COMPUTE_TYPES:
            messages.append(f"Compute type: choose one of {', '.join(COMPUTE_TYPES)}.")
        for name, low, high in (("beam_size", 1, 10), ("cpu_threads", 0, 64), ("batch_size", 0, 64)):
            value = config.get(name, low)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                messages.append(f"{_label(name)}: a whole number from {low} to {high}.")
        temperature = config.get("temperature", 0.0)
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not 0 <= temperature <= 1:
            messages.append("Temperature: a number from 0 to 1.")
        for name, label, high in (
            ("compression_ratio_threshold", "Repetition limit", 100),
            ("hallucination_silence_threshold", "Skip silence inside made-up text", 60),
        ):
            value = config.get(name, 0)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= high:
                messages.append(f"{label}: a number from 0 to {high}.")
        return messages

    @property
    def model_path(self):
        """The directory (or hub name) this transcriber loads."""
        return model_files.resolve(self.model_name, self.models_dir) or self.model_name

    def model(self):
        """The loaded WhisperModel, loading it (and downloading it first, where allowed and
        needed) on first use in this process."""
        with _LOCK:
            path = model_files.resolve(self.model_name, self.models_dir) or self._download()
            key = (path, self.device, self.compute_type, self.cpu_threads)
            if key not in _MODELS:
                _MODELS[key] = self._load(path)
            return _MODELS[key]

    def _download(self):
        if self.local_files_only:
            pull = f", `flask models pull {self.model_name}`" if model_files.HUB_NAME.match(self.model_name) else ""
            raise ModelUnavailable(
                f"The speech model '{self.model_name}' is not installed (looked in {self.models_dir}). "
                f"Run `flask models install-base --use` for the demo model{pull}, or set the model to a "
                "local directory.",
                details={"model": self.model_name, "models_dir": self.models_dir},
            )
        return model_files.download(self.model_name, self.models_dir)

    def _load(self, path):
        from faster_whisper import WhisperModel

        started = time.perf_counter()
        try:
            model = WhisperModel(
                path,
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=self.cpu_threads,
                local_files_only=True,
            )
        except Exception as exc:
            raise ModelUnavailable(
                f"The speech model '{self.model_name}' could not be loaded: check that its folder holds a "
                "complete CTranslate2 Whisper model and that the device and compute type suit this machine.",
                details={"model": path, "error": technical(exc)},
            ) from exc
        LOADS["count"] += 1
        metrics.model_loaded(self.type)
        LOADS["seconds"] += time.perf_counter() - started
        return model

    def transcribe(self, audio_path, duration, companions=None):
        loads_before = LOADS["count"]
        self.model()  # a missing model is the first thing to say, before the recording is read
        try:
            from faster_whisper import decode_audio

            audio = decode_audio(audio_path, sampling_rate=SAMPLING_RATE)
        except Exception as exc:
            raise ProcessingError(
                "The speech model could not transcribe this recording.",
                details={"error": technical(exc)},
            ) from exc
        return self._decode(audio, vad_filter=self.vad_filter, loads_before=loads_before)

    def transcribe_audio(self, audio, duration, vad_filter=True):
        """Transcribe 16 kHz mono float samples. For one channel of a two-channel call (the
        default) only the channel's voiced stretches are decoded, joined, and every segment
        is cut back to the stretches it covers: Whisper's segments over joined speech can run
        across the silence while the other side talked, which would make the channel seem to
        talk over the other."""
        if not vad_filter or not has_voice(audio, SAMPLING_RATE):
            return self._decode(audio, vad_filter=vad_filter)
        voiced = channel_audio.voiced_stretches(audio)
        if not voiced:
            return self._decode(audio[:0], vad_filter=False)
        import numpy as np

        transcript = self._decode(np.concatenate([audio[a:b] for a, b in voiced]), vad_filter=False, joined=True)
        transcript.segments = channel_audio.restore_times(transcript.segments, voiced)
        return transcript

    def _decode(self, audio, vad_filter, joined=False, loads_before=None):
        loads_before = LOADS["count"] if loads_before is None else loads_before
        model = self.model()
        try:
            pieces, language = self._run_model(model, audio, vad_filter, joined)
            # The pieces come lazily: decoding happens while they are read, so inside the try.
            segments = [_segment(p) for p in pieces if p.text.strip() and not _hallucinated(p)]
        except ProcessingError:
            raise
        except Exception as exc:
            raise ProcessingError(
                "The speech model could not transcribe this recording.",
                details={"error": technical(exc)},
            ) from exc
        return self._transcript(segments, language or self.language, loads_before)

    def _run_model(self, model, audio, vad_filter, joined):
        """(pieces, language) from the model: batched when a batch size is set, else sequential."""
        options = dict(
            language=self.language,
            beam_size=self.beam_size,
            temperature=self._temperatures(),
            condition_on_previous_text=self.condition_on_previous_text,
            compression_ratio_threshold=self.compression_ratio_threshold or None,
        )
        if not has_voice(audio, SAMPLING_RATE):
            return [], self.language  # silence or hum only: nothing to decode
        if self.batch_size > 0:
            from faster_whisper import BatchedInferencePipeline

            if joined:  # already voiced only: decode it in whole 30-s windows
                options["clip_timestamps"] = channel_audio.windows(len(audio))
            pipeline = BatchedInferencePipeline(model)
            pieces, info = pipeline.transcribe(audio, batch_size=self.batch_size, **options)
            return pieces, info.language
        silence = self.hallucination_silence_threshold or None
        pieces, info = model.transcribe(
            audio,
            vad_filter=vad_filter,
            word_timestamps=bool(silence),
            hallucination_silence_threshold=silence,
            **options,
        )
        return pieces, info.language

    def _transcript(self, segments, language, loads_before):
        transcript = Transcript(
            " ".join(s.text for s in segments),
            segments,
            language,
            self.type,
            os.path.basename(self.model_path.rstrip("/")) or self.model_name,
        )
        transcript.stats = {
            "model_loads": LOADS["count"],
            "loaded_now": LOADS["count"] > loads_before,
            "model_load_ms": round(LOADS["seconds"] * 1000, 1),
        }
        return transcript

    def _temperatures(self):
        if not self.temperature_fallback:
            return self.temperature
        steps = int(round((1.0 - self.temperature) / FALLBACK_STEP))
        return [round(self.temperature + FALLBACK_STEP * i, 2) for i in range(steps + 1)]


def has_voice(audio, rate, floor_dbfs=-45.0, frame_seconds=0.03):
    """Whether any 30 ms frame is louder than `floor_dbfs`: Whisper invents text for silence."""
    import numpy as np

    size = int(rate * frame_seconds)
    usable = len(audio) // size * size
    if not usable:
        return False
    frames = audio[:usable].reshape(-1, size)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    return bool(np.any(rms > 10 ** (floor_dbfs / 20)))


def _segment(piece):
    return Segment(
        float(piece.start),
        float(piece.end),
        piece.text.strip(),
        avg_logprob=piece.avg_logprob,
        no_speech_prob=piece.no_speech_prob,
        compression_ratio=piece.compression_ratio,
    )


def _hallucinated(piece):
    """A segment Whisper itself thinks holds no speech and that repeats itself."""
    return piece.no_speech_prob > 0.6 and piece.compression_ratio > 2.4


def _models_dir():
    try:
        from flask import current_app

        return current_app.config["MODELS_DIR"]
    except (RuntimeError, KeyError):
        base = os.environ.get("INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
        return os.environ.get("CALLBATCH_MODELS_DIR", os.path.join(base, "models"))


def _label(name):
    return {"beam_size": "Beam size", "cpu_threads": "CPU threads", "batch_size": "Batched decoding"}[name]
