using DesMoe.Formats.Experts;
using DesMoe.Torch.Model;

namespace DesMoe.Trainer.Adaptation;

/// <summary>
/// Drops a copied domain from a model: its row of the routing and slot tables and its expert copies. Every other
/// weight is kept bit for bit and every other row's slots still name the same weights, so every remaining path
/// (the no-domain path, each other domain) computes exactly what it computed before.
/// </summary>
public static class DomainRemoval
{
    /// <returns>the model without the domain's copies (a new model, the caller disposes it) and its assignment</returns>
    public static (MoeTransformer Model, ExpertAssignment Assignment) Run(MoeTransformer model, ExpertAssignment assignment, string domain)
    {
        if (assignment.UsedCopySlots != model.Config.DomainExpertCopies)
            throw new ArgumentException($"the assignment's domains use {assignment.UsedCopySlots} copy slots per layer but the model has {model.Config.DomainExpertCopies}");
        var (remaining, kept) = assignment.WithoutCopiedDomain(domain);
        return (ExpertSlotSelection.Keep(model, kept), remaining);
    }
}
