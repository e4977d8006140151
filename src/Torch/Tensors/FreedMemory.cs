using System.Runtime.InteropServices;

namespace DesMoe.Torch.Tensors;

/// <summary>
/// Hands memory that freed tensors left in the C heap back to the operating system. glibc raises its mmap threshold
/// as large blocks are freed, so after gigabytes of weights are replaced (bf16 by float32, <see cref="Model.MoeTransformer.HoldInFloat32"/>)
/// the freed blocks stay in the heap, resident, and later allocations of other sizes do not reuse them: measured on a
/// 2.17 GB bf16 DeepSeek-V2-Lite copy, a DES-MoE adapt step peaked 1.1 GiB higher without a trim after the widening
/// and 0.6 GiB higher without one after each optimizer step (<c>AdamW.Step</c>).
/// </summary>
public static class FreedMemory
{
    public static void ReturnToSystem()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (musl, for one): nothing to hand back this way.
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
