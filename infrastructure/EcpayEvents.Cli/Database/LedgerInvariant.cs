using MySqlConnector;

namespace EcpayEvents.Cli.Database;

/// <summary>
/// The ledger invariant, in one SQL definition (checked by <c>ecpay-events db check</c> and after every test):
/// <list type="bullet">
/// <item><c>balance</c>: every user's balance equals the sum of their ledger entries;</item>
/// <item><c>completed-deposit</c>: every completed deposit has exactly one ledger entry, of its amount, for its
/// user (Settlement credits a deposit only as it completes it — a late payment after expiry or failure
/// also ends <c>completed</c>);</item>
/// <item><c>uncompleted-deposit-credited</c>: no pending, failed or expired deposit has a ledger entry;</item>
/// <item><c>withdrawal</c>: every withdrawal has exactly one debit, of minus its amount, for its user;</item>
/// <item><c>ledger-entry</c>: every ledger entry belongs to such a transaction: its user, and a credit for a
/// deposit or a debit for a withdrawal (the foreign key already requires the transaction to exist).</item>
/// </list>
/// </summary>
public static class LedgerInvariant
{
    /// <summary>One row per violation: kind, the id it is about, and a sentence for an operator.</summary>
    public const string ViolationsSql = """
        SELECT 'balance' AS kind, u.id AS id,
               CONCAT('user ', u.id, ': balance ', u.balance, ' but ledger entries sum to ', COALESCE(SUM(l.amount), 0)) AS detail
        FROM users u LEFT JOIN ledger_entries l ON l.user_id = u.id
        GROUP BY u.id, u.balance
        HAVING u.balance <> COALESCE(SUM(l.amount), 0)
        UNION ALL
        SELECT 'completed-deposit', t.id,
               CONCAT('deposit ', t.id, ' (', COALESCE(t.merchant_trade_no, '-'), ') is completed for ', t.amount, ' TWD but has ',
                      COUNT(l.id), ' ledger entr', IF(COUNT(l.id) = 1, 'y', 'ies'), ' summing to ', COALESCE(SUM(l.amount), 0),
                      IF(COUNT(l.id) > 0 AND (MIN(l.user_id) <> t.user_id OR MAX(l.user_id) <> t.user_id), ' for another user', ''))
        FROM transactions t LEFT JOIN ledger_entries l ON l.transaction_id = t.id
        WHERE t.type = 'deposit' AND t.status = 'completed'
        GROUP BY t.id, t.merchant_trade_no, t.amount, t.user_id
        HAVING COUNT(l.id) <> 1 OR SUM(l.amount) <> t.amount OR MIN(l.user_id) <> t.user_id
        UNION ALL
        SELECT 'uncompleted-deposit-credited', t.id,
               CONCAT('deposit ', t.id, ' (', COALESCE(t.merchant_trade_no, '-'), ') is ', t.status, ' but has ', COUNT(l.id),
                      ' ledger entr', IF(COUNT(l.id) = 1, 'y', 'ies'), ' summing to ', SUM(l.amount))
        FROM transactions t JOIN ledger_entries l ON l.transaction_id = t.id
        WHERE t.type = 'deposit' AND t.status <> 'completed'
        GROUP BY t.id, t.merchant_trade_no, t.status
        UNION ALL
        SELECT 'withdrawal', t.id,
               CONCAT('withdrawal ', t.id, ' of ', t.amount, ' TWD has ', COUNT(l.id), ' ledger entr', IF(COUNT(l.id) = 1, 'y', 'ies'),
                      ' summing to ', COALESCE(SUM(l.amount), 0), ' (expected one debit of ', -t.amount, ')',
                      IF(COUNT(l.id) > 0 AND (MIN(l.user_id) <> t.user_id OR MAX(l.user_id) <> t.user_id), ' for another user', ''))
        FROM transactions t LEFT JOIN ledger_entries l ON l.transaction_id = t.id
        WHERE t.type = 'withdrawal'
        GROUP BY t.id, t.amount, t.user_id
        HAVING COUNT(l.id) <> 1 OR SUM(l.amount) <> -t.amount OR MIN(l.user_id) <> t.user_id
        UNION ALL
        SELECT 'ledger-entry', l.id,
               CONCAT('ledger entry ', l.id, ' (', l.amount, ' TWD for user ', l.user_id, ') is on ', t.type, ' ', t.id,
                      ' of user ', t.user_id, IF(t.user_id <> l.user_id, ': another user', IF(t.type = 'deposit', ': a deposit is a credit', ': a withdrawal is a debit')))
        FROM ledger_entries l JOIN transactions t ON t.id = l.transaction_id
        WHERE t.user_id <> l.user_id OR (t.type = 'deposit' AND l.amount <= 0) OR (t.type = 'withdrawal' AND l.amount >= 0)
        ORDER BY kind, id
        """;

    public sealed record Violation(string Kind, long Id, string Detail);

    public static async Task<IReadOnlyList<Violation>> FindAsync(MySqlConnection connection, CancellationToken ct = default)
    {
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = ViolationsSql;
        var found = new List<Violation>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            found.Add(new Violation(reader.GetString(0), reader.GetInt64(1), reader.GetString(2)));
        return found;
    }
}
