using System.CommandLine;
using System.Text.Json.Nodes;
using EcpayEvents.Cli.CommandLine;
using EcpayEvents.Cli.Database;
using EcpayEvents.Cli.Output;
using MySqlConnector;

namespace EcpayEvents.Cli.Commands;

/// <summary>
/// `ecpay-events db migrate|check|review|prune-rejected`: the schema, the ledger invariant
/// (<see cref="LedgerInvariant"/>), what Settlement flagged for an operator (<see cref="LedgerReview"/>) and
/// the retention of rejected results (<see cref="RejectedEventsRetention"/>).
/// </summary>
public static class DbCommand
{
    public static Command Create(CliContext context)
    {
        var db = new Command("db", "the database: migrations, the ledger invariant, what needs an operator, retention");
        db.Subcommands.Add(Migrate(context));
        db.Subcommands.Add(Check(context));
        db.Subcommands.Add(Review(context));
        db.Subcommands.Add(PruneRejected(context));
        return db;
    }

    private static Command Migrate(CliContext context)
    {
        var migrate = new Command("migrate", "apply the schema migrations (embedded in this tool); run before deploying a new version").With(context.Options.Database);
        migrate.SetAction(async (parse, ct) =>
        {
            var cs = await new Settings(parse, context).ConnectionStringAsync(ct);
            var applied = await DatabaseMigrator.MigrateAsync(cs, _ => { });
            context.Stdout.WriteLine(applied == 0 ? "schema is up to date" : $"applied {applied} migration(s)");
            return ExitCodes.Ok;
        });
        return migrate;
    }

    private static Command Check(CliContext context)
    {
        var check = new Command("check", """
            the ledger invariant: every balance equals the sum of its ledger entries, every completed deposit has exactly
            one ledger entry of its amount, no pending/failed/expired deposit has one, every withdrawal exactly one debit,
            every entry belongs to one of them. Exit 1 naming each violation (kind: balance, completed-deposit,
            uncompleted-deposit-credited, withdrawal, ledger-entry).
            """).With(context.Options.Database).With(context.Options.Json);
        check.SetAction(async (parse, ct) =>
        {
            var settings = new Settings(parse, context);
            await using var connection = new MySqlConnection(await settings.ConnectionStringAsync(ct));
            await connection.OpenAsync(ct);
            var violations = await LedgerInvariant.FindAsync(connection, ct);
            if (settings.Json)
            {
                JsonOutput.Write(context.Stdout, new JsonObject
                {
                    ["ok"] = violations.Count == 0,
                    ["violations"] = new JsonArray([.. violations.Select(v => (JsonNode)new JsonObject { ["kind"] = v.Kind, ["id"] = v.Id, ["detail"] = v.Detail })]),
                });
                return violations.Count == 0 ? ExitCodes.Ok : ExitCodes.Problem;
            }
            foreach (var v in violations) context.Stdout.WriteLine($"{v.Kind}: {v.Detail}");
            if (violations.Count > 0)
            {
                context.Stdout.WriteLine($"{violations.Count} violation(s) of the ledger invariant");
                return ExitCodes.Problem;
            }
            context.Stdout.WriteLine("ok: every balance equals the sum of its ledger entries; every completed deposit is credited once with its amount, "
                + "no other deposit is; every withdrawal is debited once; every ledger entry belongs to one of them");
            return ExitCodes.Ok;
        });
        return check;
    }

    private static Command Review(CliContext context)
    {
        var all = new Option<bool>("--all") { Description = "also those resolved in the last --days days" };
        var days = Days("days of resolved items to show with --all (1–3650)", 30);
        var review = new Command("review", """
            what needs an operator, until resolved: transactions flagged by Settlement (paid after expiry or failure:
            credited; wrong amount, wrong endpoint, after a simulation: not credited) with the events that flagged them,
            and other results that need attention (rejected: unknown MerchantTradeNo, another merchant, a MAC that does
            not verify; simulated; "not paid" after completion). Exit 0 if nothing is open, 1 if something is.
            """) { all, days }.With(context.Options.Database).With(context.Options.Json);
        review.Validators.Add(r =>
        {
            if (r.GetResult(days) is { Implicit: false } && !r.GetValue(all)) r.AddError("--days goes with --all (open items are listed whatever their age)");
        });
        review.SetAction(async (parse, ct) =>
        {
            var settings = new Settings(parse, context);
            var cs = await settings.ConnectionStringAsync(ct);
            var resolvedDays = parse.GetValue(all) ? parse.GetValue(days) : (int?)null;
            if (!settings.Json) return await LedgerReview.PrintAsync(cs, resolvedDays, context.Stdout) == 0 ? ExitCodes.Ok : ExitCodes.Problem;
            var text = new StringWriter();
            var open = await LedgerReview.PrintAsync(cs, resolvedDays, text);
            JsonOutput.Write(context.Stdout, new JsonObject
            {
                ["open"] = open,
                ["lines"] = new JsonArray([.. text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => (JsonNode)JsonValue.Create(l.TrimEnd('\r')))]),
            });
            return open == 0 ? ExitCodes.Ok : ExitCodes.Problem;
        });
        review.Subcommands.Add(Resolve(context));
        return review;
    }

    private static Command Resolve(CliContext context)
    {
        var transaction = Id("--transaction", "the flagged transaction to close (with its events)");
        var @event = Id("--event", "a result that needs attention on its own");
        var note = new Option<string>("--note") { Description = "what was done, 1–200 characters on one line", Required = true, HelpName = "TEXT" };
        note.Validators.Add(r =>
        {
            var text = r.GetValueOrDefault<string>()?.Trim();
            if (string.IsNullOrEmpty(text) || text.Length > 200 || text.Any(char.IsControl)) r.AddError("--note TEXT: what was done, 1–200 characters on one line");
        });
        var resolve = new Command("resolve", "close one open item with what was done; exit 1 if it is not open") { transaction, @event, note }.With(context.Options.Database);
        resolve.Validators.Add(r =>
        {
            if ((r.GetResult(transaction) is null) == (r.GetResult(@event) is null)) r.AddError("review resolve needs --transaction ID or --event ID (one of them)");
        });
        resolve.SetAction(async (parse, ct) =>
        {
            var cs = await new Settings(parse, context).ConnectionStringAsync(ct);
            var transactionId = parse.GetResult(transaction) is null ? (long?)null : parse.GetValue(transaction);
            var eventId = parse.GetResult(@event) is null ? (long?)null : parse.GetValue(@event);
            if (!await LedgerReview.ResolveAsync(cs, transactionId, eventId, parse.GetValue(note)!.Trim()))
            {
                context.Stdout.WriteLine(transactionId is { } t
                    ? $"transaction {t} has no open review"
                    : $"event {eventId} is not open on its own (unknown, needs no attention, already resolved, or under a flagged transaction: resolve that)");
                return ExitCodes.Problem;
            }
            context.Stdout.WriteLine(transactionId is { } id ? $"resolved transaction {id} and its events" : $"resolved event {eventId}");
            return ExitCodes.Ok;
        });
        return resolve;
    }

    private static Command PruneRejected(CliContext context)
    {
        var days = Days("keep rejected results of the last N days (1–3650)", null);
        days.Required = true;
        var dryRun = new Option<bool>("--dry-run") { Description = "only count what would be deleted" };
        var prune = new Command("prune-rejected", """
            delete rejected results recorded more than N days ago, except those of a transaction under open review
            (db review has listed each of them all that time). Run it from a schedule.
            """) { days, dryRun }.With(context.Options.Database).With(context.Options.Json);
        prune.SetAction(async (parse, ct) =>
        {
            var settings = new Settings(parse, context);
            var cs = await settings.ConnectionStringAsync(ct);
            var n = parse.GetValue(days);
            var dry = parse.GetValue(dryRun);
            var count = dry ? await RejectedEventsRetention.CountAsync(cs, n) : await RejectedEventsRetention.PruneAsync(cs, n);
            if (settings.Json)
                JsonOutput.Write(context.Stdout, new JsonObject { ["dryRun"] = dry, ["days"] = n, [dry ? "wouldDelete" : "deleted"] = count });
            else
                context.Stdout.WriteLine(dry
                    ? $"would delete {count} rejected result(s) recorded more than {n} day(s) ago"
                    : $"deleted {count} rejected result(s) recorded more than {n} day(s) ago (kept: those of a transaction under open review)");
            return ExitCodes.Ok;
        });
        return prune;
    }

    private static Option<int> Days(string description, int? fallback)
    {
        var days = new Option<int>("--days") { Description = description, HelpName = "N" };
        if (fallback is { } f) days.DefaultValueFactory = _ => f;
        days.Validators.Add(r =>
        {
            if (r.ValueOr(1) is < 1 or > 3650) r.AddError($"--days must be a whole number of days from 1 to 3650, not '{string.Join(' ', r.Tokens.Select(t => t.Value))}'");
        });
        return days;
    }

    private static Option<long> Id(string name, string description)
    {
        var id = new Option<long>(name) { Description = description, HelpName = "ID" };
        id.Validators.Add(r =>
        {
            if (r.ValueOr(1L) <= 0) r.AddError($"{name} must be an id (a positive whole number)");
        });
        return id;
    }
}
