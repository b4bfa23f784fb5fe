using System.Diagnostics;
using System.Text.Json.Nodes;
using EcpayEvents.Testing;

namespace EcpayEvents.StepFunctions.Tests;

public sealed class StateMachineDefinitionTests
{
    private static string DefinitionPath => Path.Combine(RepoPaths.Root, "statemachine", "payment-timeout.asl.json");

    private static JsonObject Definition => JsonNode.Parse(File.ReadAllText(DefinitionPath))!.AsObject();

    [Fact]
    public void PassesAslValidator()
    {
        var (exitCode, output) = Validate(DefinitionPath);
        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public void AslValidatorRejectsABrokenCopy()
    {
        // Proves the check above can fail: a Retry with a non-numeric BackoffRate and a dangling Next.
        var broken = Definition;
        broken["States"]!["Reconcile"]!["Retry"]![0]!["BackoffRate"] = "fast";
        broken["States"]!["Reconcile"]!["Next"] = "NoSuchState";
        var file = Path.Combine(Path.GetTempPath(), $"broken-{Guid.NewGuid():N}.asl.json");
        File.WriteAllText(file, broken.ToJsonString());
        try
        {
            var (exitCode, output) = Validate(file);
            Assert.True(exitCode != 0, output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void ReconcileRetriesAFewTimesWithJitterThenGoesToNeedsReview()
    {
        var reconcile = Definition["States"]!["Reconcile"]!;
        var retry = Assert.Single(reconcile["Retry"]!.AsArray())!;
        Assert.Equal("States.ALL", Assert.Single(retry["ErrorEquals"]!.AsArray())!.GetValue<string>());
        Assert.Equal(2, retry["IntervalSeconds"]!.GetValue<int>());
        Assert.Equal(2, retry["BackoffRate"]!.GetValue<int>());
        Assert.Equal(3, retry["MaxAttempts"]!.GetValue<int>());
        Assert.Equal(30, retry["MaxDelaySeconds"]!.GetValue<int>());
        Assert.Equal("FULL", retry["JitterStrategy"]!.GetValue<string>());

        var fallback = Assert.Single(reconcile["Catch"]!.AsArray())!;
        Assert.Equal("NeedsReview", fallback["Next"]!.GetValue<string>());
        Assert.Equal("$.error", fallback["ResultPath"]!.GetValue<string>());
        var needsReview = Definition["States"]!["NeedsReview"]!;
        Assert.Equal("Fail", needsReview["Type"]!.GetValue<string>());
        Assert.Equal("$.error.Error", needsReview["ErrorPath"]!.GetValue<string>());
        Assert.Equal("$.error.Cause", needsReview["CausePath"]!.GetValue<string>());
    }

    [Fact]
    public void ReconcileResourceIsThePlaceholderTheSamTemplateSubstitutes()
    {
        Assert.Equal("${ReconcileFunctionArn}", Definition["States"]!["Reconcile"]!["Resource"]!.GetValue<string>());
        var template = Path.Combine(RepoPaths.Root, "template.yaml");
        if (File.Exists(template))
        {
            Assert.Contains("ReconcileFunctionArn:", File.ReadAllText(template));
        }
    }

    [Fact]
    public void WaitsOnTheInputsExpiry()
    {
        var wait = Definition["States"]!["WaitUntilExpiry"]!;
        Assert.Equal("$.expiresAt", wait["TimestampPath"]!.GetValue<string>());
        Assert.Equal("WaitUntilExpiry", Definition["StartAt"]!.GetValue<string>());
    }

    private static (int ExitCode, string Output) Validate(string file)
    {
        RepoPaths.EnsureNpmPackages();
        var psi = new ProcessStartInfo(RepoPaths.Node)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.LocalStack,
        };
        foreach (var a in new[] { Path.Combine(RepoPaths.LocalStack, "node_modules", "asl-validator", "dist", "bin", "asl-validator.js"), "--json-path", file })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr.Result);
    }
}
