using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EcpayEvents.Testing;

/// <summary>
/// A long-running part of the stack started as a real process (a service, the event-source runner, a
/// server): its output lines are kept, it can be paused (SIGSTOP), resumed (SIGCONT), stopped (SIGTERM)
/// or killed (SIGKILL). Killed on dispose; its stdin is a pipe, so a part that exits with its parent
/// (sqs-server.mjs --exit-with-stdin) goes when the test process dies.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly List<string> lines = [];
    private readonly TaskCompletionSource exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Name { get; }
    public int Id => process.Id;
    public bool HasExited => process.HasExited;
    public int ExitCode => process.ExitCode;

    private ChildProcess(string name, Process process)
    {
        Name = name;
        this.process = process;
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="args"/>; a null environment value removes the variable.</summary>
    public static ChildProcess Start(string name, string fileName, IEnumerable<string> args, IDictionary<string, string?>? env = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var child = new ChildProcess(name, p);
        p.OutputDataReceived += (_, e) => child.Add(e.Data);
        p.ErrorDataReceived += (_, e) => child.Add(e.Data);
        p.Exited += (_, _) => child.exited.TrySetResult();
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return child;
    }

    /// <summary>`dotnet NAME.dll ARGS` from the test's output folder (services and the CLI are copied there).</summary>
    public static ChildProcess StartDotnet(string name, string dll, IEnumerable<string> args, IDictionary<string, string?>? env = null) =>
        Start(name, "dotnet", [Path.Combine(AppContext.BaseDirectory, dll), .. args], env);

    private void Add(string? line)
    {
        if (line is null) return;
        lock (lines) lines.Add(line);
    }

    /// <summary>Every line written so far (stdout and stderr interleaved as they arrived).</summary>
    public IReadOnlyList<string> Lines
    {
        get { lock (lines) return lines.ToArray(); }
    }

    public string Output => string.Join('\n', Lines);

    /// <summary>Waits for a line matching <paramref name="match"/>; fails early if the process exits first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, int skip = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = Lines.Skip(skip).FirstOrDefault(match);
            if (found is not null) return found;
            if (exited.Task.IsCompleted) throw new InvalidOperationException($"{Name} exited ({process.ExitCode}) before the expected line:\n{Tail()}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Name}: no expected line within {timeout.TotalSeconds:0} s:\n{Tail()}");
            await Task.WhenAny(exited.Task, Task.Delay(50));
        }
    }

    /// <summary>Until the process has exited and its output is read.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        return process.ExitCode;
    }

    public string Tail(int count = 30) => string.Join('\n', Lines.TakeLast(count));

    public void Pause() => Signal(SIGSTOP);
    public void Resume() => Signal(SIGCONT);

    /// <summary>SIGTERM, then waits for the exit (SIGKILL after <paramref name="grace"/>).</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (process.HasExited) return;
        Signal(SIGCONT); // a paused process cannot handle SIGTERM
        Signal(SIGTERM);
        using var cts = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(15));
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { await KillAsync(); }
    }

    /// <summary>SIGKILL, as a crash would, and waits for the exit.</summary>
    public async Task KillAsync()
    {
        if (process.HasExited) return;
        try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        await process.WaitForExitAsync();
    }

    private void Signal(int signal)
    {
        if (!process.HasExited) Signal(process, signal);
    }

    /// <summary>Sends a POSIX signal (SIGSTOP 19, SIGCONT 18, SIGTERM 15) to a running process.</summary>
    public static void Signal(Process process, int signal)
    {
        if (kill(process.Id, signal) != 0 && !process.HasExited)
            throw new InvalidOperationException($"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Same, by process id (e.g. MariaDB's, from its pid file).</summary>
    public static void Signal(int pid, int signal)
    {
        if (kill(pid, signal) != 0)
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
    }

    public const int SIGKILL = 9, SIGTERM = 15, SIGCONT = 18, SIGSTOP = 19; // Linux x86-64 and arm64

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
