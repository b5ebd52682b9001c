"""The result as one line an engine keeps: compact, ASCII, and cut to fit by a stated rule.

Intune keeps only the last line a script prints, at most 2,048 characters. A remediation's
result can be longer (its checks carry evidence), so the adapter prints it through
``ConvertTo-QbdExportLine``, whose rule is :data:`RULE` (the exported README quotes it).
"""

from __future__ import annotations

#: Characters each text keeps once a result has to be cut.
TEXT_CHARS = 200

RULE = (
    "The result is printed as compact JSON, with every character outside printable ASCII "
    "written as a \\uXXXX escape. When that is longer than the limit, `data` is dropped, "
    "checks that passed are put after those that failed, and every text is cut to "
    f"{TEXT_CHARS} characters (ending in `...`); then the last item of the longest of "
    "`checks`, `actions` and `messages` is dropped, again and again, until the line fits. "
    "`truncated` says how many items were dropped (0 when only texts were cut). `remediation`, "
    "`computer` and `status` are always kept."
)

FUNCTIONS = rf"""function ConvertTo-QbdExportAscii {{
    # JSON text with each character outside printable ASCII as a \uXXXX escape: valid JSON,
    # since such characters occur only inside strings (ConvertTo-Json escaped the controls).
    param([Parameter(Mandatory = $true)] [AllowEmptyString()] [string] $Json)
    $builder = New-Object -TypeName System.Text.StringBuilder -ArgumentList ($Json.Length + 16)
    foreach ($character in $Json.ToCharArray()) {{
        $code = [int]$character
        if ($code -lt 0x20 -or $code -gt 0x7E) {{
            $null = $builder.Append(('\u{{0:x4}}' -f $code))
        }} else {{
            $null = $builder.Append($character)
        }}
    }}
    return $builder.ToString()
}}

function Get-QbdExportField {{
    # A property of a parsed JSON object, or $null when it is missing (strict mode).
    param([AllowNull()] [object] $Item, [Parameter(Mandatory = $true)] [string] $Name)
    if ($null -eq $Item -or $Item -is [string] -or $Item -is [System.ValueType]) {{ return $null }}
    $property = $Item.PSObject.Properties[$Name]
    if ($null -eq $property) {{ return $null }}
    return $property.Value
}}

function Get-QbdExportShortText {{
    # Text cut to {TEXT_CHARS} characters, ending in '...' when cut.
    param([AllowNull()] [object] $Text)
    if ($null -eq $Text) {{ return '' }}
    $value = [string]$Text
    if ($value.Length -le {TEXT_CHARS}) {{ return $value }}
    return $value.Substring(0, {TEXT_CHARS - 3}) + '...'
}}

function ConvertTo-QbdExportLine {{
    # The result as one compact ASCII JSON line of at most $Limit characters (the rule is in
    # the README: data dropped, texts cut, then the last item of the longest list dropped).
    param([Parameter(Mandatory = $true)] [AllowEmptyString()] [string] $Json, [Parameter(Mandatory = $true)] [int] $Limit)
    $result = $null
    try {{ $result = ConvertFrom-Json -InputObject $Json }} catch {{ $result = $null }}
    if ($null -eq $result -or $result -is [string] -or $result -is [System.ValueType]) {{
        $result = [pscustomobject]@{{ remediation = $QbdExportRemediation; computer = $env:COMPUTERNAME; status = 'failed'; messages = @('The result was not JSON.') }}
    }}
    $line = ConvertTo-QbdExportAscii -Json (ConvertTo-Json -InputObject $result -Depth 16 -Compress)
    if ($line.Length -le $Limit) {{ return $line }}
    $failed = New-Object -TypeName System.Collections.ArrayList
    $passed = New-Object -TypeName System.Collections.ArrayList
    foreach ($check in @(Get-QbdExportField -Item $result -Name 'checks')) {{
        if ($null -eq $check) {{ continue }}
        $short = [ordered]@{{
            name     = Get-QbdExportShortText -Text (Get-QbdExportField -Item $check -Name 'name')
            passed   = [bool](Get-QbdExportField -Item $check -Name 'passed')
            evidence = Get-QbdExportShortText -Text (Get-QbdExportField -Item $check -Name 'evidence')
        }}
        if ($short.passed) {{ $null = $passed.Add($short) }} else {{ $null = $failed.Add($short) }}
    }}
    $checks = New-Object -TypeName System.Collections.ArrayList
    foreach ($check in @($failed.ToArray()) + @($passed.ToArray())) {{ $null = $checks.Add($check) }}
    $actions = New-Object -TypeName System.Collections.ArrayList
    foreach ($action in @(Get-QbdExportField -Item $result -Name 'actions')) {{
        if ($null -eq $action) {{ continue }}
        $null = $actions.Add([ordered]@{{
            description = Get-QbdExportShortText -Text (Get-QbdExportField -Item $action -Name 'description')
            performed   = [bool](Get-QbdExportField -Item $action -Name 'performed')
        }})
    }}
    $messages = New-Object -TypeName System.Collections.ArrayList
    foreach ($message in @(Get-QbdExportField -Item $result -Name 'messages')) {{
        if ($null -ne $message) {{ $null = $messages.Add((Get-QbdExportShortText -Text $message)) }}
    }}
    $head = [ordered]@{{
        remediation = Get-QbdExportShortText -Text (Get-QbdExportField -Item $result -Name 'remediation')
        computer    = Get-QbdExportShortText -Text (Get-QbdExportField -Item $result -Name 'computer')
        status      = Get-QbdExportShortText -Text (Get-QbdExportField -Item $result -Name 'status')
    }}
    $dropped = 0
    while ($true) {{
        $short = [ordered]@{{}}
        foreach ($key in @($head.Keys)) {{ $short[$key] = $head[$key] }}
        $short['checks'] = $checks.ToArray()
        $short['actions'] = $actions.ToArray()
        $short['messages'] = $messages.ToArray()
        $short['truncated'] = $dropped
        $line = ConvertTo-QbdExportAscii -Json (ConvertTo-Json -InputObject $short -Depth 4 -Compress)
        if ($line.Length -le $Limit) {{ return $line }}
        $longest = $checks
        if ($actions.Count -gt $longest.Count) {{ $longest = $actions }}
        if ($messages.Count -gt $longest.Count) {{ $longest = $messages }}
        if ($longest.Count -eq 0) {{ break }}
        $longest.RemoveAt($longest.Count - 1)
        $dropped += 1
    }}
    $head['truncated'] = $dropped
    return (ConvertTo-QbdExportAscii -Json (ConvertTo-Json -InputObject $head -Depth 2 -Compress))
}}
"""
