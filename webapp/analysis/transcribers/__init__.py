from .sidecar import SidecarTranscriber

TRANSCRIBERS = {"sidecar": SidecarTranscriber}
