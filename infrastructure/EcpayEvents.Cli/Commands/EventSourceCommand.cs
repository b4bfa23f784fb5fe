using System.CommandLine;
using System.Runtime.InteropServices;
using EcpayEvents.Cli.CommandLine;
using EcpayEvents.Cli.EventSource;
using EcpayEvents.Messaging;

namespace EcpayEvents.Cli.Commands;

/// <summary>
/// `ecpay-events event-source` — the local stand-in for Lambda's SQS event source mapping: polls a
/// queue and POSTs batches to a service's /events (see <see cref="SqsEventSourceRunner"/>).
/// </summary>
public static class EventSourceCommand
{
    public static Command Create(CliContext context)
    {
        var sqsEndpoint = new Option<string>("--sqs-endpoint") { Description = "the SQS endpoint, e.g. http://127.0.0.1:4566", Required = true, HelpName = "URL" };
        var queueUrl = new Option<string>("--queue-url") { Description = "the queue to poll, e.g. http://127.0.0.1:4566/000000000000/payment-results", Required = true, HelpName = "URL" };
        var target = new Option<string>("--target") { Description = "where batches are POSTed, e.g. http://127.0.0.1:5082/events", Required = true, HelpName = "URL" };
        target.Validators.Add(r =>
        {
            if (!Uri.TryCreate(r.GetValueOrDefault<string>(), UriKind.Absolute, out _)) r.AddError($"--target '{r.GetValueOrDefault<string>()}' is not an absolute URL");
        });
        var batchSize = Between("--batch-size", "messages per batch (1–10)", 10, 1, 10);
        var waitSeconds = Between("--wait-seconds", "long-poll wait (0–20); stopping takes up to this long", 20, 0, 20);
        var pollers = Between("--pollers", $"receive → POST → delete loops side by side (Lambda's MaximumConcurrency), 1–{SqsEventSourceOptions.MaxPollers}",
            SqsEventSourceOptions.DefaultPollers, 1, SqsEventSourceOptions.MaxPollers);
        var visibility = Between("--visibility-timeout", "visibility timeout of received messages (0–43200 s; default: the queue's)", -1, 0, 43_200);
        var region = new Option<string>("--region") { Description = "region to sign with", DefaultValueFactory = _ => "us-east-1", HelpName = "REGION" };
        var command = new Command("event-source", """
            poll an SQS queue and POST batches to a service's /events (the local stand-in for Lambda's SQS event source).
            Stops on Ctrl-C / SIGTERM within --wait-seconds: a batch in hand is finished, one received while stopping is
            made visible again. One JSON line (with a UTC Timestamp) per batch.
            """) { sqsEndpoint, queueUrl, target, batchSize, waitSeconds, pollers, visibility, region };
        command.SetAction(async (parse, ct) =>
        {
            var queue = parse.GetValue(queueUrl)!;
            var targetUri = new Uri(parse.GetValue(target)!);
            var visibilityTimeout = parse.GetValue(visibility);
            var options = new SqsEventSourceOptions(queue, targetUri, parse.GetValue(batchSize), parse.GetValue(waitSeconds),
                visibilityTimeout < 0 ? null : visibilityTimeout, parse.GetValue(region)!, parse.GetValue(pollers));
            using var sqs = SqsEventSourceRunner.CreateSqsClient(new SqsOptions { QueueUrl = queue, ServiceUrl = parse.GetValue(sqsEndpoint), Region = options.Region }, options);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

            EventSourceLog.Write(context.Stdout, "start", $"\"queueUrl\":{EventSourceLog.JsonString(queue)},\"target\":{EventSourceLog.JsonString(targetUri.ToString())},\"batchSize\":{options.BatchSize},\"waitSeconds\":{options.WaitSeconds},\"pollers\":{options.Pollers},\"receiveTimeoutSeconds\":{(int)options.ReceiveTimeout.TotalSeconds}");
            await new SqsEventSourceRunner(sqs, http, options, context.Stdout).RunAsync(stop.Token);
            EventSourceLog.Write(context.Stdout, "stopped");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Option<int> Between(string name, string description, int fallback, int min, int max)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => fallback, HelpName = "N" };
        option.Validators.Add(r =>
        {
            if (r.Implicit) return;
            if (r.ValueOr(min) is var v && (v < min || v > max)) r.AddError($"{name} must be {min}–{max}");
        });
        return option;
    }
}
