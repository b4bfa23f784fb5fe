using EcpayEvents.Cli.CommandLine;

// The operators' tool: every command is declared under Commands/, dispatched and given its exit code by
// EcpayEventsCommandLine.
return await EcpayEventsCommandLine.InvokeAsync(args, CliContext.FromProcess());
