/**
 * CRC-32 (the gzip/zlib polynomial) of a concatenation from the CRCs of its parts, without the
 * data: zlib's crc32_combine (x^(8·len2) mod P times crc1, plus crc2), which Node does not expose.
 * Lets a gzip body assembled from separately compressed pieces carry its trailer CRC at the cost
 * of a few multiplications per piece instead of a pass over every byte.
 */

const POLYNOMIAL = 0xedb88320;

/** a × b modulo the CRC polynomial (bit-reflected, as CRC-32 is). */
function multiplyModP(a: number, b: number): number {
  let m = 0x80000000;
  let product = 0;
  for (;;) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLYNOMIAL : b >>> 1;
  }
  return product >>> 0;
}

/** X_POWERS[k] = x^(2^k) modulo P. */
const X_POWERS: number[] = [];
for (let k = 0, power = 0x40000000; k < 32; k++) {
  X_POWERS.push(power);
  power = multiplyModP(power, power);
}

/** x^(n·2^k) modulo P. */
function xPowerModP(n: number, k: number): number {
  let power = 0x80000000;
  while (n > 0) {
    if (n % 2 === 1) power = multiplyModP(X_POWERS[k & 31] as number, power);
    n = Math.floor(n / 2);
    k++;
  }
  return power;
}

/** CRC-32 of A followed by B, from crc(A), crc(B) and B's length in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiplyModP(xPowerModP(lengthB, 3), crcA) ^ crcB) >>> 0;
}
