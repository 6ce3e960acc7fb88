from .auto import AutoTranscriber
from .faster_whisper import FasterWhisperTranscriber
from .openai import OpenAITranscriber
from .sidecar import SidecarTranscriber

TRANSCRIBERS = {
    "auto": AutoTranscriber,
    "sidecar": SidecarTranscriber,
    "faster_whisper": FasterWhisperTranscriber,
    "openai": OpenAITranscriber,
}
