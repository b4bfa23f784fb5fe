using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace EcpayEvents.Benchmarks;

/// <summary>
/// Short runs (1 launch, 3 warm-up, 5 measured iterations) in-process: the whole suite stays well
/// under 3 minutes on a shared 2-core machine and needs no second build of a generated project.
/// Figures are indicative (wide error bars under load), not a regression gate.
/// </summary>
public sealed class ShortConfig : ManualConfig
{
    public ShortConfig()
    {
        Add(DefaultConfig.Instance); // console logger, Markdown/CSV/HTML exporters, default columns
        AddJob(Job.ShortRun
            .WithIterationCount(5)
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithId("ShortInProcess"));
        AddDiagnoser(MemoryDiagnoser.Default);
        WithOptions(ConfigOptions.JoinSummary | ConfigOptions.DisableLogFile);
        WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared));
    }
}
