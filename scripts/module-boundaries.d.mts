// Types of module-boundaries.mjs, for the TypeScript test that reads the same table.
export declare const ALLOWED: Record<string, string[]>;
export declare const FORBIDDEN_PACKAGES: Record<string, string[]>;
export declare const PURE: string[];
export declare const PARTS: string[];
export declare const FILE_PARTS: string[];
export declare function importRules(): Array<{ files: string[]; patterns: Array<{ regex: string; message: string }> }>;
