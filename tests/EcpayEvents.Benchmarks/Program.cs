using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/EcpayEvents.Benchmarks -- --filter '*'
// (any BenchmarkDotNet option works after --, e.g. --filter '*CheckMac*' or --list flat)
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, new EcpayEvents.Benchmarks.ShortConfig());
