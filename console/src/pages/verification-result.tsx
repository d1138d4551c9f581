import { type LedgerVerification } from '../api/operations';
import { formatEpsilon, formatRho } from '../format';

/** The outcome of recomputing a ledger's hash chain and totals, in words. */
export function VerificationResult({ verification }: { verification: LedgerVerification }) {
  if (verification.ok) {
    return (
      <p className="verification verification-ok" role="status">
        <strong>Ledger verified:</strong> the hash chain of {verification.entries} {verification.entries === 1 ? 'entry' : 'entries'} is intact; total ρ{' '}
        {formatRho(verification.totalRho)}, ε {formatEpsilon(verification.spentEpsilon)} spent.
      </p>
    );
  }
  return (
    <p className="verification verification-broken" role="alert">
      <strong>Ledger verification failed</strong>
      {verification.firstBroken
        ? `: entry #${verification.firstBroken.sequence} is broken (${verification.firstBroken.reason}).`
        : '.'}{' '}
      {verification.entries} entries checked.
    </p>
  );
}
