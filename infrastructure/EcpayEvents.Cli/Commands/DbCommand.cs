using System.Globalization;
using EcpayEvents.Cli.Database;
using MySqlConnector;

namespace EcpayEvents.Cli.Commands;

/// <summary>
/// `ecpay-events db migrate` — apply schema migrations.
/// `ecpay-events db check`   — verify the ledger invariant (<see cref="LedgerInvariant"/>).
/// `ecpay-events db review`  — what Settlement flagged for an operator (<see cref="LedgerReview"/>).
/// `ecpay-events db prune-rejected` — retention of rejected results (<see cref="RejectedEventsRetention"/>).
/// Connection string from --connection-string or the DATABASE_CONNECTION_STRING environment variable.
/// </summary>
public static class DbCommand
{
    public const string Usage = """
        usage: ecpay-events db migrate [--connection-string CS]
               ecpay-events db check   [--connection-string CS]
               ecpay-events db review  [--connection-string CS] [--all [--days N]]
               ecpay-events db review resolve (--transaction ID | --event ID) --note TEXT [--connection-string CS]
               ecpay-events db prune-rejected --days N [--dry-run] [--connection-string CS]
          check:   exit 0 if the ledger invariant holds: every balance equals the sum of its ledger entries, every
                   completed deposit has exactly one ledger entry of its amount, no pending/failed/expired
                   deposit has one, every withdrawal exactly one debit, every entry belongs to one of them;
                   1 naming each violation (kind: balance, completed-deposit, uncompleted-deposit-credited,
                   withdrawal, ledger-entry).
          review:  what needs an operator, until resolved: transactions flagged by Settlement (paid after expiry
                   or failure: credited; wrong amount, wrong endpoint, after a simulation: not credited) with
                   the events that flagged them, and other results that need attention (rejected: unknown
                   MerchantTradeNo, another merchant, a MAC that does not verify; simulated; "not paid" after
                   completion); --all adds those resolved in the last N days (default 30).
                   Exit 0 if nothing is open, 1 if something is (for a schedule or an alarm).
          resolve: close one, with what was done (1–200 characters); exit 1 if it is not open.
          prune-rejected: delete rejected results recorded more than N days ago (1–3650), except those of a
                   transaction under open review; --dry-run only counts them. Run it from a schedule.
          CS defaults to $DATABASE_CONNECTION_STRING (e.g. Server=127.0.0.1;Port=3307;Database=ecpay_events;User ID=root;Password=...)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args.Any(a => a is "-h" or "--help")) { Console.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
        var cs = OptionValue(args, "--connection-string") ?? Environment.GetEnvironmentVariable("DATABASE_CONNECTION_STRING");
        if (string.IsNullOrWhiteSpace(cs)) return Fail("no connection string: pass --connection-string or set DATABASE_CONNECTION_STRING");

        try
        {
            switch (args[0])
            {
                case "migrate":
                    var applied = await DatabaseMigrator.MigrateAsync(cs, _ => { });
                    Console.WriteLine(applied == 0 ? "schema is up to date" : $"applied {applied} migration(s)");
                    return 0;
                case "check":
                    return await CheckLedgerAsync(cs);
                case "review":
                    return await ReviewAsync(cs, args);
                case "prune-rejected":
                    return await PruneRejectedAsync(cs, args);
                default:
                    return Fail($"unknown db command '{args[0]}'");
            }
        }
        catch (Exception ex) when (ex is MySqlException or EvolveDb.EvolveException or ArgumentException)
        {
            // One line, no stack trace, never the connection string (it carries the password).
            return Fail($"database error: {ex.Message.Split('\n')[0]}");
        }
    }

    /// <summary>`db review [--all [--days N]]` and `db review resolve (--transaction ID | --event ID) --note TEXT`, read strictly.</summary>
    private static async Task<int> ReviewAsync(string cs, string[] args)
    {
        var resolve = false;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "resolve" when !resolve:
                    resolve = true;
                    break;
                case "--all":
                    values["--all"] = "";
                    break;
                case "--days" or "--transaction" or "--event" or "--note" or "--connection-string":
                    if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal)) return Fail($"{args[i]} needs a value");
                    values[args[i]] = args[++i];
                    break;
                default:
                    return Fail($"unexpected '{args[i]}' for db review (see ecpay-events db --help)");
            }
        }
        string[] forResolve = ["--transaction", "--event", "--note"], forListing = ["--all", "--days"];
        if (!resolve)
        {
            if (forResolve.FirstOrDefault(values.ContainsKey) is { } misplaced) return Fail($"{misplaced} goes with db review resolve");
            if (values.ContainsKey("--days") && !values.ContainsKey("--all")) return Fail("--days goes with --all (open items are listed whatever their age)");
            int? days = null;
            if (values.ContainsKey("--all"))
            {
                var daysText = values.GetValueOrDefault("--days", "30");
                if (!int.TryParse(daysText, NumberStyles.None, CultureInfo.InvariantCulture, out var d) || d is < 1 or > 3650)
                    return Fail($"--days must be a whole number of days from 1 to 3650, not '{daysText}'");
                days = d;
            }
            return await LedgerReview.PrintAsync(cs, days, Console.Out) == 0 ? 0 : 1;
        }

        if (forListing.FirstOrDefault(values.ContainsKey) is { } listingOnly) return Fail($"{listingOnly} does not go with db review resolve");
        static long? Id(string? text) => long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0 ? id : null;
        var transaction = values.GetValueOrDefault("--transaction");
        var @event = values.GetValueOrDefault("--event");
        if ((transaction is null) == (@event is null)) return Fail("review resolve needs --transaction ID or --event ID (one of them)");
        var transactionId = Id(transaction);
        var eventId = Id(@event);
        if (transactionId is null && eventId is null) return Fail($"'{transaction ?? @event}' is not an id (a positive whole number)");
        var note = values.GetValueOrDefault("--note")?.Trim();
        if (string.IsNullOrEmpty(note) || note.Length > 200 || note.Any(char.IsControl))
            return Fail("review resolve needs --note TEXT: what was done, 1–200 characters on one line");

        if (!await LedgerReview.ResolveAsync(cs, transactionId, eventId, note))
        {
            Console.WriteLine(transactionId is { } t
                ? $"transaction {t} has no open review"
                : $"event {eventId} is not open on its own (unknown, needs no attention, already resolved, or under a flagged transaction: resolve that)");
            return 1;
        }
        Console.WriteLine(transactionId is { } id ? $"resolved transaction {id} and its events" : $"resolved event {eventId}");
        return 0;
    }

    /// <summary>`db prune-rejected --days N [--dry-run]`, read strictly.</summary>
    private static async Task<int> PruneRejectedAsync(string cs, string[] args)
    {
        string? daysText = null;
        var dryRun = false;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--dry-run":
                    dryRun = true;
                    break;
                case "--days" or "--connection-string":
                    if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal)) return Fail($"{args[i]} needs a value");
                    if (args[i] == "--days") daysText = args[i + 1];
                    i++;
                    break;
                default:
                    return Fail($"unexpected '{args[i]}' for db prune-rejected (see ecpay-events db --help)");
            }
        }
        if (daysText is null) return Fail("db prune-rejected needs --days N: how many days of rejected results to keep");
        if (!int.TryParse(daysText, NumberStyles.None, CultureInfo.InvariantCulture, out var days) || days is < 1 or > 3650)
            return Fail($"--days must be a whole number of days from 1 to 3650, not '{daysText}'");
        if (dryRun)
        {
            Console.WriteLine($"would delete {await RejectedEventsRetention.CountAsync(cs, days)} rejected result(s) recorded more than {days} day(s) ago");
            return 0;
        }
        var deleted = await RejectedEventsRetention.PruneAsync(cs, days);
        Console.WriteLine($"deleted {deleted} rejected result(s) recorded more than {days} day(s) ago (kept: those of a transaction under open review)");
        return 0;
    }

    private static async Task<int> CheckLedgerAsync(string cs)
    {
        await using var connection = new MySqlConnection(cs);
        await connection.OpenAsync();
        var violations = await LedgerInvariant.FindAsync(connection);
        foreach (var v in violations) Console.WriteLine($"{v.Kind}: {v.Detail}");
        if (violations.Count > 0) { Console.WriteLine($"{violations.Count} violation(s) of the ledger invariant"); return 1; }
        Console.WriteLine("ok: every balance equals the sum of its ledger entries; every completed deposit is credited once with its amount, "
            + "no other deposit is; every withdrawal is debited once; every ledger entry belongs to one of them");
        return 0;
    }

    private static string? OptionValue(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"ecpay-events db: {message}");
        return 2;
    }
}
