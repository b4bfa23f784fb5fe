using System.Diagnostics;

namespace EcpayEvents.Testing;

/// <summary>Finds the repository and the project's local tooling from a test's output folder.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "EcpayEvents.sln"))) return dir.FullName;
        throw new InvalidOperationException($"EcpayEvents.sln not found above {AppContext.BaseDirectory}");
    });

    private static readonly Lazy<string> node = new(() => RunScript("infrastructure/local/tooling.sh", "node").Trim().Split('\n')[^1]);
    private static readonly Lazy<bool> npm = new(() => { RunScript("infrastructure/local/tooling.sh", "npm"); return true; });

    public static string Root => root.Value;
    public static string LocalStack => Path.Combine(Root, "infrastructure", "local");

    /// <summary>Node ≥ 22 from the project's tooling folder (installed on first use).</summary>
    public static string Node => node.Value;

    /// <summary>Ensures the npm packages in infrastructure/local are installed.</summary>
    public static void EnsureNpmPackages() => _ = npm.Value;

    /// <summary>Runs a repo script with bash and returns its stdout; throws with stderr on failure.</summary>
    public static string RunScript(string relativePath, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        psi.ArgumentList.Add(Path.Combine(Root, relativePath));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{relativePath} {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}");
        return stdout;
    }
}
