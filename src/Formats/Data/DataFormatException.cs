namespace DesMoe.Formats.Data;

/// <summary>Bad input data; the message names the file and line of each problem.</summary>
public sealed class DataFormatException(string message) : Exception(message);
