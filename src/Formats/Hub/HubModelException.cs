namespace DesMoe.Formats.Hub;

/// <summary>
/// A hub checkpoint folder that cannot be loaded as it is: an unsupported <c>model_type</c> or field value, a missing
/// file, or tensors that do not match the architecture. The message is one line that names the offending value.
/// An <see cref="IOException"/> (InvalidDataException is sealed) so that callers which already report unreadable
/// files, such as the CLI's error handler, report these too.
/// </summary>
public sealed class HubModelException(string message, Exception? inner = null) : IOException(message, inner);
