namespace DesMoe.Core.Architectures.Hub;

/// <summary>
/// A hub checkpoint folder that cannot be loaded as it is: an unsupported <c>model_type</c> or field value, a missing
/// file, or tensors that do not match the architecture. The message is one line that names the offending value.
/// </summary>
public sealed class HubModelException(string message, Exception? inner = null) : Exception(message, inner);
