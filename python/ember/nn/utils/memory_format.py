"""``torch.nn.utils.memory_format``: Ember's convolutions choose their own layout, so these
return the module unchanged."""


def convert_conv2d_weight_memory_format(module, memory_format):
    return module


def convert_conv3d_weight_memory_format(module, memory_format):
    return module
