using EcpayEvents.Cli.Commands;

// The operators' tool. One file per command under Commands/; this only dispatches.
const string usage = """
    usage: ecpay-events <command> ...
      mac compute|verify   compute or check an ECPay CheckMacValue (ecpay-events mac --help)
      db migrate|check|review   apply migrations / check balances against the ledger / what needs an operator (ecpay-events db --help)
      executions list|describe|history   payment-timeout executions (ecpay-events executions --help)
      timeouts audit|rearm                pending deposits without a running timeout, and re-arming them (ecpay-events timeouts --help)
      event-source         poll an SQS queue and POST batches to a service's /events (ecpay-events event-source --help)
    """;

return args switch
{
    [] => Help(2),
    ["-h" or "--help" or "help", ..] => Help(0),
    ["mac", .. var rest] => MacCommand.Run(rest),
    ["db", .. var rest] => await DbCommand.RunAsync(rest),
    ["executions", .. var rest] => await ExecutionsCommand.RunAsync(rest),
    ["timeouts", .. var rest] => await TimeoutsCommand.RunAsync(rest),
    ["event-source", .. var rest] => await EventSourceCommand.RunAsync(rest),
    ["demo", .. var rest] => await DemoCommand.RunAsync(rest),
    [var unknown, ..] => Unknown(unknown),
};

static int Help(int exitCode)
{
    (exitCode == 0 ? Console.Out : Console.Error).WriteLine(usage);
    return exitCode;
}

static int Unknown(string command)
{
    Console.Error.WriteLine($"ecpay-events: unknown command '{command}' (see ecpay-events --help)");
    return 2;
}
