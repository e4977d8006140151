using static TorchSharp.torch;

namespace DesMoe.Trainer.Optimization;

/// <summary>
/// One optimizer update as every trainer (pre-training, joint adaptation, domain addition) takes it: clear the
/// gradients, backpropagate, let the caller adjust them, clip their global norm, step.
/// </summary>
public static class OptimizerStep
{
    /// <param name="adjustGradients">
    /// runs between backward and clipping: masks (router rows that must not move) or a second backward pass over a
    /// disjoint graph whose gradient must not be scaled with the first (DES-MoE's router distillation)
    /// </param>
    public static void Take(AdamW optimizer, Tensor loss, double gradientClip, Action? adjustGradients = null)
    {
        optimizer.ZeroGrad();
        loss.backward();
        adjustGradients?.Invoke();
        nn.utils.clip_grad_norm_(optimizer.Parameters, gradientClip);
        optimizer.Step();
    }
}
