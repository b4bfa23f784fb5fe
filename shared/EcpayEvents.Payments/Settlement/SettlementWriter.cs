using System.Data;
using MySqlConnector;

namespace EcpayEvents.Payments.Settlement;

/// <summary>
/// Runs <see cref="SettlementPlan"/>s inside the caller's transaction in ONE round trip (a multi-statement batch,
/// under a savepoint): each statement whose row count is checked is followed by <c>SELECT ROW_COUNT()</c>, and
/// with <c>markEvents</c> each event insert too, so that a failure can be told apart from a duplicate event. A
/// failed or unexpected write is rolled back to the savepoint; a deadlock (InnoDB rolled back the whole
/// transaction) or a lost connection propagates.
/// </summary>
internal static class SettlementWriter
{
    private const string RowCountSql = "SELECT ROW_COUNT()";

    /// <param name="EventRecorded">The (first) plan's event insert ran (known only with <c>markEvents</c>).</param>
    /// <param name="Error">The statement that failed, or null.</param>
    /// <param name="Mismatch">A checked statement matched other rows than planned (the writes were rolled back), or null.</param>
    public sealed record Outcome(bool EventRecorded, Exception? Error, string? Mismatch)
    {
        public bool Succeeded => Error is null && Mismatch is null;
    }

    public static async Task<Outcome> RunAsync(MySqlConnection connection, MySqlTransaction tx, string savepoint, IReadOnlyList<SettlementPlan> plans, bool markEvents, CancellationToken ct)
    {
        await using var batch = new MySqlBatch(connection, tx);
        var checks = new List<(int? Expected, string Sql)>();
        batch.BatchCommands.Add(new MySqlBatchCommand("SAVEPOINT " + savepoint));
        foreach (var plan in plans)
        {
            Add(batch, plan.RecordEvent, markEvents ? checks : null);
            foreach (var change in plan.Changes) Add(batch, change, change.ExpectedRows is null ? null : checks);
        }

        var counts = new List<long>(checks.Count);
        try
        {
            await using var reader = await batch.ExecuteReaderAsync(ct);
            do
            {
                while (await reader.ReadAsync(ct)) counts.Add(reader.GetInt64(0));
            } while (await reader.NextResultAsync(ct));
        }
        catch (MySqlException e) when (e.ErrorCode != MySqlErrorCode.LockDeadlock && connection.State == ConnectionState.Open)
        {
            // The statement failed alone (InnoDB rolls back just it; the batch stopped there): undo what ran before it.
            await RollbackToAsync(connection, tx, savepoint, ct);
            return new Outcome(markEvents && counts.Count > 0, e, null);
        }

        for (var i = 0; i < checks.Count; i++)
        {
            if (checks[i].Expected is { } expected && counts[i] != expected)
            {
                await RollbackToAsync(connection, tx, savepoint, ct);
                return new Outcome(markEvents, null, $"matched {counts[i]} row(s), expected {expected}: {checks[i].Sql.Split('\n')[0].Trim()}");
            }
        }
        return new Outcome(markEvents, null, null);
    }

    private static void Add(MySqlBatch batch, PlannedStatement statement, List<(int? Expected, string Sql)>? checks)
    {
        var command = new MySqlBatchCommand(statement.Sql);
        foreach (var (name, value) in statement.Parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        batch.BatchCommands.Add(command);
        if (checks is null) return;
        batch.BatchCommands.Add(new MySqlBatchCommand(RowCountSql));
        checks.Add((statement.ExpectedRows, statement.Sql));
    }

    private static async Task RollbackToAsync(MySqlConnection connection, MySqlTransaction tx, string savepoint, CancellationToken ct)
    {
        await using var command = new MySqlCommand("ROLLBACK TO SAVEPOINT " + savepoint, connection, tx);
        await command.ExecuteNonQueryAsync(ct);
    }
}
