using System.CommandLine;
using TorchSharp;

namespace MobileNeXt.Cli;

/// <summary><c>mobilenext doctor</c>: checks that the native backend loads, and says why not in one sentence.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var command = new Command("doctor", "Check that TorchSharp's native backend loads on this machine; prints the cause and the fix when it does not.");
        command.SetAction(_ =>
        {
            TorchRuntime.EnsureAvailable(); // throws NativeLibraryUnavailableException, printed as one 'error:' line
            using var probe = torch.ones(2, 2).matmul(torch.ones(2, 2));
            Console.WriteLine($"ok: TorchSharp {typeof(torch).Assembly.GetName().Version} loaded its native backend; " +
                              $"{torch.get_num_threads()} CPU threads; CUDA {(torch.cuda.is_available() ? "available" : "not available")}.");
            Console.WriteLine($"memory: {TorchRuntime.DescribeAllocator()}.");
            return 0;
        });
        return command;
    }
}
