"""``torch.backends.mkldnn``: oneDNN is not used by Ember."""

enabled = False


def is_available():
    return False
