"""Who spoke: a diarizer hands the recording to the transcriber and labels the segments it
gets back `agent` or `customer`. Adding one (a model-based diarizer, say) is a class with
`type`, `label`, `fields`, `validate_config(config)` and `transcribe(transcriber,
audio_path, duration, companions)`, and an entry here."""

from .channels import ChannelsDiarizer
from .none import NoDiarizer

DIARIZERS = {
    "channels": ChannelsDiarizer,
    "none": NoDiarizer,
}
