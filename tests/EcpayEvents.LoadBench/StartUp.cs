using System.Diagnostics;
using System.Globalization;

namespace EcpayEvents.LoadBench;

/// <summary>Start-up of one service binary: spawn → first 200 on /healthz (polled every 2 ms), RSS idle and after load.</summary>
internal static class StartUp
{
    public static async Task<(double[] StartMs, double IdleMb, double LoadedMb)> MeasureAsync(string file, string arguments, int port, int runs, Func<Uri, Task>? load)
    {
        var starts = new List<double>();
        double idle = 0, loaded = 0;
        var health = new Uri($"http://127.0.0.1:{port}/healthz");
        for (var run = 0; run < runs; run++)
        {
            var info = new ProcessStartInfo(file, arguments + $" --urls http://127.0.0.1:{port}") { RedirectStandardOutput = true, RedirectStandardError = true };
            var clock = Stopwatch.StartNew();
            using var process = Process.Start(info)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                while (true)
                {
                    if (process.HasExited) throw new InvalidOperationException($"{file} exited with {process.ExitCode} during start");
                    if (clock.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"{file}: no /healthz 200 in 30 s");
                    try
                    {
                        using var response = await HttpLoad.Client.GetAsync(health);
                        if (response.IsSuccessStatusCode) break;
                    }
                    catch (HttpRequestException) { }
                    await Task.Delay(2);
                }
                starts.Add(clock.Elapsed.TotalMilliseconds);
                if (run == runs - 1)
                {
                    await Task.Delay(1000);
                    idle = RssMb(process.Id);
                    if (load is not null) { await load(new Uri($"http://127.0.0.1:{port}")); loaded = RssMb(process.Id); }
                }
            }
            finally
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }
        return ([.. starts], idle, loaded);
    }

    private static double RssMb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return double.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        return double.NaN;
    }
}
