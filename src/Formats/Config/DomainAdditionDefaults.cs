namespace DesMoe.Formats.Config;

/// <summary>
/// The budget of adding one domain to a served model when the caller names none: one place for the trainer
/// (<c>DomainAdditionOptions</c>), the server's AddDomain (<c>DesMoe:Adaptation:Default*</c>) and <c>desmoe extend</c>.
/// </summary>
public static class DomainAdditionDefaults
{
    public const int Steps = 300;
    public const int BatchSize = 16;
    public const double LearningRate = 3e-3;
}
