using TorchSharp;

namespace DesMoe.Torch.Tensors;

/// <summary>
/// Constant TorchSharp Scalars that live as long as the process. TorchSharp hands a Scalar's raw handle to native
/// code without keeping the managed object alive, and Scalar has a finalizer, so a temporary one (what every
/// implicit <c>double</c>/<c>int</c> conversion creates) can be freed by a concurrent GC while libtorch reads it:
/// a rare, random <c>INTERNAL ASSERT FAILED at c10/core/Scalar.h</c>. A static field is always reachable. Values
/// that change per call go in a <c>using var</c> local instead (disposed after the call, so alive during it); the
/// DESMOE001 analyzer (build/Analyzers) refuses anything else.
/// </summary>
public static class Scalars
{
    public static readonly Scalar Zero = 0.ToScalar();
    public static readonly Scalar One = 1.ToScalar();
    public static readonly Scalar OneDouble = 1.0.ToScalar();
    public static readonly Scalar Two = 2.ToScalar();
    public static readonly Scalar NegativeInfinity = float.NegativeInfinity.ToScalar();
}
